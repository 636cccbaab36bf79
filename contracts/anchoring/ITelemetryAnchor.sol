// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IDeviceRegistry} from "../registry/IDeviceRegistry.sol";

/**
 * @title ITelemetryAnchor
 * @notice Anchors batches of device-signed telemetry readings as Merkle roots. A batcher collects readings,
 * builds an OpenZeppelin-layout Merkle tree over their standard leaves and anchors the root here; anyone
 * can then prove a single reading (or several) against the anchored root.
 *
 * Readings are signed by device keys with EIP-712 under this contract's domain. A batch record holds the
 * submitter, a sequential batch id and the registry moment of the anchoring (its block time and the
 * registry's change count within that second) in one storage slot keyed by the root; the reading count,
 * time window and content reference travel in the `BatchAnchored` event.
 */
interface ITelemetryAnchor {
    /// @notice One telemetry reading, as a device signs it (EIP-712 type `Reading`) and as a Merkle leaf
    /// encodes it: `keccak256(bytes.concat(keccak256(abi.encode(device, sequence, timestamp, metric, value,
    /// payloadHash))))`.
    /// @param device The signing device key.
    /// @param sequence Per-device counter, strictly increasing from one reading to the next.
    /// @param timestamp Device clock, Unix seconds. Not trusted for key validity (see `checkProvenReading`).
    /// @param metric What was measured and in which unit and scale, as a short ASCII name in a bytes32
    /// (e.g. "temperature.mC" for milli-degrees Celsius).
    /// @param value The measurement, a signed integer in the metric's unit and scale.
    /// @param payloadHash keccak256 of any extra payload (zero if none).
    struct Reading {
        address device;
        uint64 sequence;
        uint64 timestamp;
        bytes32 metric;
        int256 value;
        bytes32 payloadHash;
    }

    /// @notice A batch to anchor.
    /// @param root Merkle root of the batch's reading leaves.
    /// @param readingCount Number of readings (leaves) in the batch.
    /// @param fromTimestamp Earliest device timestamp in the batch.
    /// @param toTimestamp Latest device timestamp in the batch.
    /// @param contentHash keccak-256 of the batch data as published (the batcher's dump).
    /// @param contentURI Where the batch data is published (emitted, not stored).
    struct BatchInput {
        bytes32 root;
        uint32 readingCount;
        uint64 fromTimestamp;
        uint64 toTimestamp;
        bytes32 contentHash;
        string contentURI;
    }

    /// @notice The stored record of an anchored root.
    /// @param submitter The account that anchored it.
    /// @param batchId Sequential id, from 1; zero means "not anchored".
    /// @param anchoredAt Block timestamp of the anchoring transaction.
    /// @param registrySeq The registry's change count within that second when the root was anchored:
    /// `(anchoredAt << 16) | registrySeq` is the registry moment (`IDeviceRegistry.moment()`) at which device
    /// validity is judged, so that a revocation later in the same block does not reach back to this batch.
    struct Anchor {
        address submitter;
        uint32 batchId;
        uint48 anchoredAt;
        uint16 registrySeq;
    }

    /// @notice A batch root was anchored.
    event BatchAnchored(
        uint256 indexed batchId,
        bytes32 indexed root,
        address indexed submitter,
        uint32 readingCount,
        uint64 fromTimestamp,
        uint64 toTimestamp,
        bytes32 contentHash,
        string contentURI
    );

    /// @notice The root is zero.
    error AnchorInvalidRoot();

    /// @notice The batch claims no readings.
    error AnchorEmptyBatch(bytes32 root);

    /// @notice The batch's time window ends before it starts.
    error AnchorInvalidWindow(uint64 fromTimestamp, uint64 toTimestamp);

    /// @notice The root was anchored before; roots are never overwritten.
    error AnchorRootAlreadyAnchored(bytes32 root, uint256 batchId);

    /// @notice `anchorMany` got no batches, or a multi-reading check got no readings.
    error AnchorEmptyInput();

    /// @notice A proven reading's Merkle proof does not lead to a root anchored as `batchId`.
    error AnchorReadingNotAnchored(uint256 batchId, bytes32 computedRoot);

    /// @notice A reading's signature was not made by its device key.
    error AnchorInvalidReadingSignature(address device, address signer);

    /// @notice The reading's device key was not an active device key when its batch was anchored (at registry
    /// moment `anchoredMoment`).
    error AnchorDeviceNotValid(address device, uint64 anchoredMoment);

    /**
     * @notice Anchors one batch root. Only for the ANCHORER role.
     * @param batch The batch.
     * @return batchId The new batch id.
     */
    function anchor(BatchInput calldata batch) external returns (uint256 batchId);

    /**
     * @notice Anchors several batch roots in one transaction, with consecutive ids. Only for the ANCHORER
     * role.
     * @param batches The batches, at least one.
     * @return firstBatchId The id of `batches[0]`; the others follow in order.
     */
    function anchorMany(BatchInput[] calldata batches) external returns (uint256 firstBatchId);

    /**
     * @notice Whether `reading` is a leaf of the root anchored as `batchId`.
     * @param batchId The batch.
     * @param reading The reading.
     * @param proof Merkle proof of the reading's leaf (OpenZeppelin format).
     * @return True if the proof leads to the root anchored as `batchId`.
     */
    function verifyReading(
        uint256 batchId,
        Reading calldata reading,
        bytes32[] calldata proof
    ) external view returns (bool);

    /**
     * @notice Whether all `readings` are leaves of the root anchored as `batchId`, with one multiproof.
     * Reverts with `AnchorEmptyInput` for an empty reading set, which would otherwise prove any root.
     * @param batchId The batch.
     * @param readings The readings, in the multiproof's leaf order.
     * @param proof Multiproof sibling nodes (OpenZeppelin `getMultiProof` format).
     * @param proofFlags Multiproof flags.
     * @return True if the multiproof leads to the root anchored as `batchId`.
     */
    function verifyReadings(
        uint256 batchId,
        Reading[] calldata readings,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) external view returns (bool);

    /**
     * @notice Checks that a reading is signed by its device key and included in the batch anchored as
     * `batchId`, and reverts with the first failure. Does not consult the registry: callers that fixed their
     * trust in the key earlier (see `ConditionalEscrow`) use it; everyone else uses `checkProvenReading`.
     * @param batchId The batch.
     * @param reading The reading.
     * @param signature The device's EIP-712 signature of the reading (65 bytes, low s).
     * @param proof Merkle proof of the reading's leaf.
     * @return anchoredMoment The registry moment of the batch's anchoring.
     */
    function checkSignedReading(
        uint256 batchId,
        Reading calldata reading,
        bytes calldata signature,
        bytes32[] calldata proof
    ) external view returns (uint64 anchoredMoment);

    /**
     * @notice Checks a device-signed reading end to end and reverts with the first failure: the signature
     * is the device's, the reading is in the batch anchored as `batchId`, and the device key was active in
     * the registry at the batch's anchoring moment. Validity is judged at anchoring, not at the reading's
     * device timestamp, because a stolen key can write any timestamp; and at the registry moment of the
     * anchoring, so that a revocation in the same block, after the anchoring transaction, does not void it.
     * @param batchId The batch.
     * @param reading The reading.
     * @param signature The device's EIP-712 signature of the reading (65 bytes, low s).
     * @param proof Merkle proof of the reading's leaf.
     * @return anchoredMoment The registry moment of the batch's anchoring.
     */
    function checkProvenReading(
        uint256 batchId,
        Reading calldata reading,
        bytes calldata signature,
        bytes32[] calldata proof
    ) external view returns (uint64 anchoredMoment);

    /**
     * @notice The record of an anchored root (all zero if never anchored).
     * @param root The root.
     * @return The record.
     */
    function getAnchor(bytes32 root) external view returns (Anchor memory);

    /**
     * @notice Number of batches anchored so far (also the id of the latest).
     * @return The count.
     */
    function batchCount() external view returns (uint256);

    /**
     * @notice The EIP-712 digest a device signs for `reading`.
     * @param reading The reading.
     * @return The digest.
     */
    function readingDigest(Reading calldata reading) external view returns (bytes32);

    /**
     * @notice The device registry that `checkProvenReading` consults.
     * @return The registry.
     */
    function registry() external view returns (IDeviceRegistry);
}
