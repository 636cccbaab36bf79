// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ITelemetryAnchor} from "../anchoring/ITelemetryAnchor.sol";

/// @dev Test-only attacker contract: answers like a TelemetryAnchor and its registry at once, and says yes to
/// everything. A bundle that names it must never verify against a partner's pinned anchor.
contract LookAlikeAnchor {
    mapping(bytes32 root => ITelemetryAnchor.Anchor record) private _anchors;

    /// @dev "Anchors" any root as any batch id, with the real contract's event.
    function fakeAnchor(bytes32 root, uint32 batchId, uint32 readingCount) external {
        _anchors[root] = ITelemetryAnchor.Anchor(msg.sender, batchId, uint48(block.timestamp), 0);
        emit ITelemetryAnchor.BatchAnchored(batchId, root, msg.sender, readingCount, 0, 0, bytes32(0), "");
    }

    function getAnchor(bytes32 root) external view returns (ITelemetryAnchor.Anchor memory) {
        return _anchors[root];
    }

    /// @dev It is its own registry.
    function registry() external view returns (address) {
        return address(this);
    }

    function validAtMoment(address, uint64) external pure returns (bool) {
        return true;
    }

    function lotEntryValidAtMoment(uint256, address, bytes32, bytes32[] calldata, uint64) external pure returns (bool) {
        return true;
    }
}
