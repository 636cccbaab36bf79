// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";
import {IDeviceRegistry} from "../registry/IDeviceRegistry.sol";
import {ITelemetryAnchor} from "./ITelemetryAnchor.sol";
import {Readings} from "./Readings.sol";

/**
 * @title TelemetryAnchor
 * @notice See {ITelemetryAnchor}. Gas per anchor does not depend on the batch size: one fresh storage
 * slot (the root's record), the batch counter, the role check and one event.
 */
contract TelemetryAnchor is ITelemetryAnchor, AccessControl, EIP712 {
    /// @notice Role of the accounts that may anchor batches (batcher operators).
    bytes32 public constant ANCHORER_ROLE = keccak256("ANCHORER_ROLE");

    IDeviceRegistry private immutable _registry;
    uint32 private _batchCount;
    mapping(bytes32 root => Anchor record) private _anchors;

    /// @param admin Holder of DEFAULT_ADMIN_ROLE, which grants and revokes ANCHORER_ROLE.
    /// @param registry_ The device registry consulted by `checkProvenReading`.
    constructor(address admin, IDeviceRegistry registry_) EIP712("iotrail TelemetryAnchor", "1") {
        _registry = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc ITelemetryAnchor
    function anchor(BatchInput calldata batch) external onlyRole(ANCHORER_ROLE) returns (uint256 batchId) {
        uint32 id = _batchCount + 1;
        _batchCount = id;
        _record(batch, id, _registry.moment());
        return id;
    }

    /// @inheritdoc ITelemetryAnchor
    function anchorMany(BatchInput[] calldata batches) external onlyRole(ANCHORER_ROLE) returns (uint256 firstBatchId) {
        uint256 count = batches.length;
        if (count == 0) revert AnchorEmptyInput();
        uint32 first = _batchCount + 1;
        _batchCount = SafeCast.toUint32(first + count - 1);
        uint64 registryMoment = _registry.moment();
        for (uint256 i = 0; i < count; ++i) {
            // first + i <= _batchCount, which fits in 32 bits (checked above).
            unchecked {
                _record(batches[i], first + uint32(i), registryMoment);
            }
        }
        return first;
    }

    /// @inheritdoc ITelemetryAnchor
    function verifyReading(
        uint256 batchId,
        Reading calldata reading,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 root = MerkleProof.processProofCalldata(proof, Readings.leaf(reading));
        return batchId != 0 && _anchors[root].batchId == batchId;
    }

    /// @inheritdoc ITelemetryAnchor
    function verifyReadings(
        uint256 batchId,
        Reading[] calldata readings,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) external view returns (bool) {
        uint256 count = readings.length;
        if (count == 0) revert AnchorEmptyInput();
        bytes32[] memory leaves = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            leaves[i] = Readings.leaf(readings[i]);
        }
        bytes32 root = MerkleProof.processMultiProofCalldata(proof, proofFlags, leaves);
        return batchId != 0 && _anchors[root].batchId == batchId;
    }

    /// @inheritdoc ITelemetryAnchor
    function checkSignedReading(
        uint256 batchId,
        Reading calldata reading,
        bytes calldata signature,
        bytes32[] calldata proof
    ) public view returns (uint64 anchoredMoment) {
        (address signer, ECDSA.RecoverError error, ) = ECDSA.tryRecover(
            _hashTypedDataV4(Readings.structHash(reading)),
            signature
        );
        if (error != ECDSA.RecoverError.NoError || signer != reading.device) {
            revert AnchorInvalidReadingSignature(reading.device, signer);
        }
        bytes32 root = MerkleProof.processProofCalldata(proof, Readings.leaf(reading));
        Anchor memory record = _anchors[root];
        if (batchId == 0 || record.batchId != batchId) revert AnchorReadingNotAnchored(batchId, root);
        return (uint64(record.anchoredAt) << 16) | record.registrySeq;
    }

    /// @inheritdoc ITelemetryAnchor
    function checkProvenReading(
        uint256 batchId,
        Reading calldata reading,
        bytes calldata signature,
        bytes32[] calldata proof
    ) external view returns (uint64 anchoredMoment) {
        anchoredMoment = checkSignedReading(batchId, reading, signature, proof);
        if (!_registry.validAtMoment(reading.device, anchoredMoment)) {
            revert AnchorDeviceNotValid(reading.device, anchoredMoment);
        }
    }

    /// @inheritdoc ITelemetryAnchor
    function getAnchor(bytes32 root) external view returns (Anchor memory) {
        return _anchors[root];
    }

    /// @inheritdoc ITelemetryAnchor
    function batchCount() external view returns (uint256) {
        return _batchCount;
    }

    /// @inheritdoc ITelemetryAnchor
    function readingDigest(Reading calldata reading) external view returns (bytes32) {
        return _hashTypedDataV4(Readings.structHash(reading));
    }

    /// @inheritdoc ITelemetryAnchor
    function registry() external view returns (IDeviceRegistry) {
        return _registry;
    }

    /// @dev Validates `batch` and stores its record under `batchId`, at the registry's `registryMoment`.
    function _record(BatchInput calldata batch, uint32 batchId, uint64 registryMoment) private {
        bytes32 root = batch.root;
        if (root == 0) revert AnchorInvalidRoot();
        if (batch.readingCount == 0) revert AnchorEmptyBatch(root);
        if (batch.toTimestamp < batch.fromTimestamp) {
            revert AnchorInvalidWindow(batch.fromTimestamp, batch.toTimestamp);
        }
        uint32 existing = _anchors[root].batchId;
        if (existing != 0) revert AnchorRootAlreadyAnchored(root, existing);
        // The moment's high bits are this block's time; its low 16 bits order it among the registry's changes.
        _anchors[root] = Anchor({
            submitter: msg.sender,
            batchId: batchId,
            anchoredAt: Time.timestamp(),
            registrySeq: uint16(registryMoment)
        });
        emit BatchAnchored(
            batchId,
            root,
            msg.sender,
            batch.readingCount,
            batch.fromTimestamp,
            batch.toTimestamp,
            batch.contentHash,
            batch.contentURI
        );
    }
}
