// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IDeviceRegistry} from "./IDeviceRegistry.sol";

/**
 * @title Lots
 * @notice Production lots: one Merkle root stands for any number of devices. Leaves follow
 * the standard format of OpenZeppelin's merkle-tree library over `(address key, bytes32 metadataHash)`.
 * Times are registry moments (see `Moments`).
 */
library Lots {
    /// @dev One lot, in three slots.
    struct Lot {
        bytes32 root;
        address manufacturer;
        uint64 committed;
        IDeviceRegistry.LotStatus status;
        address owner;
        uint64 ended;
        uint32 deviceCount;
    }

    /// @dev What happened to one entry of one lot (one slot). A claim hands the entry over to the device's own
    /// record; a revocation ends the entry within this lot only.
    struct Entry {
        uint64 claimed;
        uint64 revoked;
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

    /// @dev Whether an entry counts at `moment` (not before the commit: callers check {isBeforeCommit} first)
    /// as far as the lot is concerned: until the lot's revocation. Only meaningful for a lot that exists:
    /// callers check membership first, and no proof verifies against the zero root of an unknown lot.
    function entryCountsAt(Lot storage self, uint64 moment) internal view returns (bool) {
        return self.status != IDeviceRegistry.LotStatus.Revoked || moment < self.ended;
    }

    /// @dev Whether `moment` is before the lot's commit (no entry of the lot counts then, whatever else holds).
    function isBeforeCommit(Lot storage self, uint64 moment) internal view returns (bool) {
        return moment < self.committed;
    }

    /// @dev Ends an existing lot (Closed or Revoked) at `moment`: Active -> Closed, Active | Closed -> Revoked.
    function end(Lot storage self, uint256 lotId, IDeviceRegistry.LotStatus to, uint64 moment) internal {
        IDeviceRegistry.LotStatus from = self.status;
        bool allowed =
            from == IDeviceRegistry.LotStatus.Active ||
                (from == IDeviceRegistry.LotStatus.Closed && to == IDeviceRegistry.LotStatus.Revoked);
        if (!allowed) revert IDeviceRegistry.RegistryLotNotActive(lotId, from);
        self.status = to;
        self.ended = moment;
    }

    /// @dev Reverts unless the lot accepts changes to its entries (claims need Active; single-entry
    /// revocations, with `allowClosed`, Active or Closed).
    function requireOpen(Lot storage self, uint256 lotId, bool allowClosed) internal view {
        IDeviceRegistry.LotStatus status = self.status;
        if (status == IDeviceRegistry.LotStatus.None) revert IDeviceRegistry.RegistryUnknownLot(lotId);
        if (status == IDeviceRegistry.LotStatus.Active || (allowClosed && status == IDeviceRegistry.LotStatus.Closed))
            return;
        revert IDeviceRegistry.RegistryLotNotActive(lotId, status);
    }

    /// @dev Reverts unless the entry is still unclaimed and unrevoked in this lot.
    function requireUntouched(Entry storage self, uint256 lotId, address key) internal view {
        if (self.claimed != 0) revert IDeviceRegistry.RegistryKeyAlreadyUsed(key);
        if (self.revoked != 0) revert IDeviceRegistry.RegistryLotEntryRevoked(lotId, key);
    }
}
