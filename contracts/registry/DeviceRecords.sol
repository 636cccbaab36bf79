// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {IDeviceRegistry} from "./IDeviceRegistry.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/**
 * @title DeviceRecords
 * @notice Storage and state machine of one device record: owner, status with its history, and keys with
 * theirs. Both histories are checkpoints keyed by registry moment (see `Moments`). Registration writes no
 * checkpoint (a device is Active with its first key from its registration moment until its first change),
 * so that a registration stays cheap.
 */
library DeviceRecords {
    using Checkpoints for Checkpoints.Trace160;

    /// @dev One device. Slot 0 packs owner, the registration moment, status and reason (248 bits), the only
    /// slot a registration writes besides the metadata hash. `keys` holds every rotation (moment -> new key);
    /// before the first one the device signs with its first key, whose address is the device id.
    // solhint-disable-next-line gas-struct-packing
    struct Device {
        address owner;
        uint64 registered;
        IDeviceRegistry.DeviceStatus status;
        uint16 reason;
        bytes32 metadataHash;
        address pendingOwner;
        Checkpoints.Trace160 history;
        Checkpoints.Trace160 keys;
    }

    /// @dev Creates an Active record at moment `registered`.
    function create(Device storage self, address owner, uint64 registered, bytes32 metadataHash) internal {
        self.owner = owner;
        self.registered = registered;
        self.status = IDeviceRegistry.DeviceStatus.Active;
        if (metadataHash != bytes32(0)) self.metadataHash = metadataHash;
    }

    /// @dev Whether the record exists.
    function exists(Device storage self) internal view returns (bool) {
        return self.registered != 0;
    }

    /// @dev The key the device signs with now.
    function key(Device storage self, uint256 deviceId) internal view returns (address) {
        return _keyOr(self.keys.latest(), deviceId);
    }

    /// @dev The key the device signed with at `moment` (meaningful from the registration moment on).
    function keyAt(Device storage self, uint256 deviceId, uint64 moment) internal view returns (address) {
        return _keyOr(self.keys.upperLookupRecent(moment), deviceId);
    }

    /// @dev Makes `newKey` the device's key from `moment` on.
    function rotate(Device storage self, address newKey, uint64 moment) internal {
        self.keys.push(moment, uint160(newKey));
    }

    /// @dev The moments from which and until which `candidate` was the device's key (`until` 0: still is;
    /// `from` 0: never was). A view for `getKey`; rotations are rare, so it scans them.
    function keyWindow(
        Device storage self,
        uint256 deviceId,
        address candidate
    ) internal view returns (uint64 from, uint64 until) {
        uint256 count = self.keys.length();
        bool isFirst = address(uint160(deviceId)) == candidate;
        if (isFirst) from = self.registered;
        for (uint256 i = 0; i < count; ++i) {
            Checkpoints.Checkpoint160 memory rotation = self.keys.at(SafeCast.toUint32(i));
            if (from != 0) return (from, uint64(rotation._key));
            if (address(rotation._value) == candidate) from = uint64(rotation._key);
        }
        return (from, 0);
    }

    /// @dev Moves the device to `to` at `moment`, enforcing Active <-> Suspended -> Revoked (terminal).
    function transition(
        Device storage self,
        uint256 deviceId,
        IDeviceRegistry.DeviceStatus to,
        uint16 reason,
        uint64 moment
    ) internal {
        IDeviceRegistry.DeviceStatus from = self.status;
        bool allowed =
            to == IDeviceRegistry.DeviceStatus.Revoked
                ? from != IDeviceRegistry.DeviceStatus.Revoked
                : (from == IDeviceRegistry.DeviceStatus.Active && to == IDeviceRegistry.DeviceStatus.Suspended) ||
                    (from == IDeviceRegistry.DeviceStatus.Suspended && to == IDeviceRegistry.DeviceStatus.Active);
        if (!allowed) revert IDeviceRegistry.RegistryInvalidStatusTransition(deviceId, from, to);
        self.status = to;
        self.reason = reason;
        self.history.push(moment, uint160(uint8(to)));
    }

    /// @dev Status at `moment`: None before registration, Active until the first checkpoint.
    function statusAt(Device storage self, uint64 moment) internal view returns (IDeviceRegistry.DeviceStatus) {
        uint64 registered = self.registered;
        if (registered == 0 || moment < registered) return IDeviceRegistry.DeviceStatus.None;
        uint160 recorded = self.history.upperLookupRecent(moment);
        return recorded == 0 ? IDeviceRegistry.DeviceStatus.Active : IDeviceRegistry.DeviceStatus(uint8(recorded));
    }

    function _keyOr(uint160 rotated, uint256 deviceId) private pure returns (address) {
        return rotated == 0 ? address(uint160(deviceId)) : address(rotated);
    }
}
