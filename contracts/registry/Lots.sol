// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IDeviceRegistry} from "./IDeviceRegistry.sol";

/**
 * @title Lots
 * @notice Production lots: one Merkle root stands for any number of devices. Leaves follow
 * the standard format of OpenZeppelin's merkle-tree library over `(address key, bytes32 metadataHash)`.
 */
library Lots {
    /// @dev One lot, in three slots.
    struct Lot {
        bytes32 root;
        address manufacturer;
        uint48 committedAt;
        IDeviceRegistry.LotStatus status;
        address owner;
        uint48 endedAt;
        uint32 deviceCount;
    }

    /// @dev The standard leaf: keccak256(bytes.concat(keccak256(abi.encode(key, metadataHash)))).
    function leaf(address key, bytes32 metadataHash) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(key, metadataHash))));
    }

    /// @dev Whether the proof shows the entry in the lot.
    function contains(
        Lot storage self,
        address key,
        bytes32 metadataHash,
        bytes32[] calldata proof
    ) internal view returns (bool) {
        return MerkleProof.verifyCalldata(proof, self.root, leaf(key, metadataHash));
    }

    /// @dev Whether an unclaimed entry counts as registered at chain time `at`. Only meaningful for a lot that
    /// exists: callers check membership first, and no proof verifies against the zero root of an unknown lot.
    function entryCountsAt(Lot storage self, uint48 at) internal view returns (bool) {
        if (at < self.committedAt) return false;
        return self.status != IDeviceRegistry.LotStatus.Revoked || at < self.endedAt;
    }

    /// @dev Ends an existing lot (Closed or Revoked) at chain time `at`: Active -> Closed,
    /// Active | Closed -> Revoked.
    function end(Lot storage self, uint256 lotId, IDeviceRegistry.LotStatus to, uint48 at) internal {
        IDeviceRegistry.LotStatus from = self.status;
        bool allowed =
            from == IDeviceRegistry.LotStatus.Active ||
                (from == IDeviceRegistry.LotStatus.Closed && to == IDeviceRegistry.LotStatus.Revoked);
        if (!allowed) revert IDeviceRegistry.RegistryLotNotActive(lotId, from);
        self.status = to;
        self.endedAt = at;
    }

    /// @dev Reverts unless the lot accepts new records (claims and single-entry revocations need Active or,
    /// with `allowClosed`, Closed).
    function requireOpen(Lot storage self, uint256 lotId, bool allowClosed) internal view {
        IDeviceRegistry.LotStatus status = self.status;
        if (status == IDeviceRegistry.LotStatus.None) revert IDeviceRegistry.RegistryUnknownLot(lotId);
        if (status == IDeviceRegistry.LotStatus.Active || (allowClosed && status == IDeviceRegistry.LotStatus.Closed))
            return;
        revert IDeviceRegistry.RegistryLotNotActive(lotId, status);
    }
}
