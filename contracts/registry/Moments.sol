// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";

/**
 * @title Moments
 * @notice The registry's order of events. A moment is `(timestamp << 16) | seq`: the chain time and the
 * position of a registry change within that second (1 for the first change of a second, 2 for the next, ...;
 * 0 stands for "this second, before any change"). Moments of later changes are strictly greater, even
 * within one block, so a question asked at a moment gets the same answer forever once that moment is
 * past. A time-only question (`validAt(key, t)`) is asked at the end of second `t`.
 */
library Moments {
    /// @dev The registry's clock: the second of the last change and how many changes that second saw.
    struct Clock {
        uint48 at;
        uint16 seq;
    }

    /// @dev A moment's chain time.
    function timestampOf(uint64 moment) internal pure returns (uint48) {
        return uint48(moment >> 16);
    }

    /// @dev The last moment of second `timestamp`: every change made during that second is at or before it.
    function endOf(uint48 timestamp) internal pure returns (uint64) {
        return (uint64(timestamp) << 16) | type(uint16).max;
    }

    /// @dev The moment now: after every change made so far, before every later one.
    function current(Clock storage self) internal view returns (uint64) {
        uint48 at = Time.timestamp();
        return self.at == at ? (uint64(at) << 16) | self.seq : uint64(at) << 16;
    }

    /// @dev Advances the clock for a new change and returns the change's moment. Reverts (checked
    /// arithmetic) after 65,535 changes within one second, which no chain's gas limit comes near.
    function tick(Clock storage self) internal returns (uint64) {
        uint48 at = Time.timestamp();
        uint16 seq = self.at == at ? self.seq + 1 : 1;
        self.at = at;
        self.seq = seq;
        return (uint64(at) << 16) | seq;
    }
}
