// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {IDeviceRegistry} from "./IDeviceRegistry.sol";

/**
 * @title DeviceRecords
 * @notice Storage and state machine of one device record: owner, status with its history, and key.
 * Status history is kept as checkpoints keyed by chain time; registration writes no checkpoint (a device is
 * Active from `registeredAt` until its first change), so that a registration stays cheap.
 */
library DeviceRecords {
    using Checkpoints for Checkpoints.Trace208;

    /// @dev One device. `currentKey` is zero while the device still uses its first key, whose address is the
    /// device id; it is written only on the first rotation. Slot 0 packs owner, registeredAt, status and
    /// reason (232 bits), the only slot a registration writes besides the metadata hash.
    // solhint-disable-next-line gas-struct-packing
    struct Device {
        address owner;
        uint48 registeredAt;
        IDeviceRegistry.DeviceStatus status;
        uint16 reason;
        bytes32 metadataHash;
        address currentKey;
        address pendingOwner;
        Checkpoints.Trace208 history;
    }

    /// @dev One key's attribution: the device it belongs to and its validity window [validFrom, validUntil).
    /// Written for a device's first key only once it is rotated out; `validUntil` 0 means still valid.
    struct Key {
        uint160 deviceId;
        uint48 validFrom;
        uint48 validUntil;
    }

    /// @dev Creates an Active record.
    function create(Device storage self, address owner, uint48 registeredAt, bytes32 metadataHash) internal {
        self.owner = owner;
        self.registeredAt = registeredAt;
        self.status = IDeviceRegistry.DeviceStatus.Active;
        if (metadataHash != bytes32(0)) self.metadataHash = metadataHash;
    }

    /// @dev Whether the record exists.
    function exists(Device storage self) internal view returns (bool) {
        return self.registeredAt != 0;
    }

    /// @dev The key the device signs with now.
    function key(Device storage self, uint256 deviceId) internal view returns (address) {
        address current = self.currentKey;
        return current == address(0) ? address(uint160(deviceId)) : current;
    }

    /// @dev Moves the device to `to` at chain time `at`, enforcing Active <-> Suspended -> Revoked (terminal).
    function transition(
        Device storage self,
        uint256 deviceId,
        IDeviceRegistry.DeviceStatus to,
        uint16 reason,
        uint48 at
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
        self.history.push(at, uint208(uint8(to)));
    }

    /// @dev Status at chain time `at`: None before registration, Active until the first checkpoint.
    function statusAt(Device storage self, uint48 at) internal view returns (IDeviceRegistry.DeviceStatus) {
        uint48 registeredAt = self.registeredAt;
        if (registeredAt == 0 || at < registeredAt) return IDeviceRegistry.DeviceStatus.None;
        uint208 recorded = self.history.upperLookupRecent(at);
        return recorded == 0 ? IDeviceRegistry.DeviceStatus.Active : IDeviceRegistry.DeviceStatus(uint8(recorded));
    }

    /// @dev Whether `at` lies in the key's window [validFrom, validUntil).
    function covers(Key memory self, uint48 at) internal pure returns (bool) {
        return self.deviceId != 0 && at >= self.validFrom && (self.validUntil == 0 || at < self.validUntil);
    }
}
