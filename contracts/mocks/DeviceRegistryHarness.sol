// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DeviceRegistry} from "../registry/DeviceRegistry.sol";
import {Lots} from "../registry/Lots.sol";

/// @dev Test-only: exposes the registry's EIP-712 internals for parity tests with the TypeScript library.
contract DeviceRegistryHarness is DeviceRegistry {
    constructor(address admin) DeviceRegistry(admin) {}

    function typeHashes() external pure returns (bytes32[9] memory) {
        return
            [
                REGISTER_DEVICE_TYPEHASH,
                CLAIM_DEVICE_TYPEHASH,
                ACCEPT_KEY_TYPEHASH,
                TRANSFER_DEVICE_TYPEHASH,
                ACCEPT_TRANSFER_TYPEHASH,
                SUSPEND_DEVICE_TYPEHASH,
                RESUME_DEVICE_TYPEHASH,
                REVOKE_DEVICE_TYPEHASH,
                ROTATE_KEY_TYPEHASH
            ];
    }

    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function hashTypedData(bytes32 structHash) external view returns (bytes32) {
        return _hashTypedDataV4(structHash);
    }

    function lotLeaf(address key, bytes32 metadataHash) external pure returns (bytes32) {
        return Lots.leaf(key, metadataHash);
    }
}
