// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ITelemetryAnchor} from "../anchoring/ITelemetryAnchor.sol";
import {IPullPayments} from "./IPullPayments.sol";

/**
 * @title IConditionalEscrow
 * @notice Escrowed payments for deliveries. A payer locks ETH or an ERC-20 for a payee until a deadline.
 * The escrow is released to the payee by the payer (directly or through a relayed `ReleaseEscrow`
 * signature), by an optional arbiter, or by a **proven reading**: a device-signed reading, included in a
 * batch anchored on the TelemetryAnchor, that meets the escrow's condition (device, metric, value range,
 * time window). The contract checks the reading itself: the device's signature, its inclusion in the
 * anchored root, and the condition.
 *
 * Trust in the condition's device is fixed when the escrow is created: the key must be an active device key
 * then (`EscrowDeviceNotValid` otherwise), and from then on its signed, anchored, in-window readings release
 * the escrow whatever happens to the device in the registry. So nothing the payer alone does after creation
 * (suspending, revoking, rotating or selling a device it owns) can veto a genuine reading. The other side of
 * that choice: a payer who fears the key could be stolen before the deadline should name an arbiter and a
 * short deadline rather than rely on a reading condition, because a revocation no longer protects it.
 *
 * Release is possible up to and including the deadline; from the next second on, anyone may trigger the
 * refund to the payer. Each escrow ends Released or Refunded, never both. Payouts follow {IPullPayments}.
 */
interface IConditionalEscrow is IPullPayments {
    /// @notice Life cycle of an escrow.
    enum EscrowStatus {
        None,
        Active,
        Released,
        Refunded
    }

    /// @notice A release condition on an anchored reading. `device` zero means "no reading condition".
    /// @param device The device key whose reading counts.
    /// @param metric The metric id the reading must carry.
    /// @param minValue Lowest acceptable value (inclusive).
    /// @param maxValue Highest acceptable value (inclusive).
    /// @param fromTimestamp Earliest acceptable device timestamp (inclusive).
    /// @param toTimestamp Latest acceptable device timestamp (inclusive).
    struct Condition {
        address device;
        bytes32 metric;
        int256 minValue;
        int256 maxValue;
        uint64 fromTimestamp;
        uint64 toTimestamp;
    }

    /// @notice Parameters of a new escrow.
    /// @param payee Who is paid on release.
    /// @param token ERC-20 token, or the zero address for ETH.
    /// @param amount The locked amount (for ETH: msg.value).
    /// @param deadline Last chain time at which the escrow can be released.
    /// @param arbiter An account that may also release (zero: none).
    /// @param condition The reading condition (device zero: none).
    struct EscrowParams {
        address payee;
        address token;
        uint96 amount;
        uint48 deadline;
        address arbiter;
        Condition condition;
    }

    /// @notice An escrow as returned by `getEscrow`.
    struct EscrowInfo {
        address payer;
        address payee;
        address token;
        address arbiter;
        uint96 amount;
        uint48 deadline;
        bytes32 conditionHash;
        EscrowStatus status;
    }

    /// @notice An escrow was created; `conditionHash` is keccak256(abi.encode(condition)), zero for none.
    event EscrowCreated(
        uint256 indexed escrowId,
        address indexed payer,
        address indexed payee,
        address token,
        uint96 amount,
        uint48 deadline,
        address arbiter,
        bytes32 conditionHash
    );

    /// @notice An escrow was released to its payee by `by` (payer, arbiter, or the reading's submitter).
    event EscrowReleased(uint256 indexed escrowId, address indexed by, uint256 batchId);

    /// @notice An escrow was refunded to its payer.
    event EscrowRefunded(uint256 indexed escrowId);

    error EscrowUnknown(uint256 escrowId);
    error EscrowNotActive(uint256 escrowId, EscrowStatus status);
    error EscrowInvalidPayee(address payee);
    error EscrowInvalidDeadline(uint48 deadline);
    error EscrowInvalidDeposit(uint256 expected, uint256 received);
    error EscrowInvalidCondition();
    /// @notice The condition's device key is not an active device key when the escrow is created.
    error EscrowDeviceNotValid(address device);
    error EscrowUnauthorized(uint256 escrowId, address account);
    error EscrowExpired(uint256 escrowId, uint48 deadline);
    error EscrowNotExpired(uint256 escrowId, uint48 deadline);
    error EscrowConditionMismatch(uint256 escrowId, bytes32 expected, bytes32 given);
    error EscrowReadingMismatch(uint256 escrowId, address device, bytes32 metric);
    error EscrowValueOutOfRange(uint256 escrowId, int256 value, int256 minValue, int256 maxValue);
    error EscrowTimestampOutOfWindow(uint256 escrowId, uint64 timestamp, uint64 fromTimestamp, uint64 toTimestamp);
    error EscrowInvalidSignature(address expectedSigner);
    error EscrowSignatureExpired(uint256 deadline, uint256 timestamp);

    /**
     * @notice Locks funds from msg.sender (ETH in msg.value, or an ERC-20 pulled with `transferFrom`; a
     * fee-on-transfer token locks what actually arrived).
     * @param params The escrow.
     * @return escrowId The new escrow's id.
     */
    function create(EscrowParams calldata params) external payable returns (uint256 escrowId);

    /**
     * @notice Releases to the payee. Only the payer or the arbiter; up to the deadline.
     * @param escrowId The escrow.
     */
    function release(uint256 escrowId) external;

    /**
     * @notice `release` for a payer that signed `ReleaseEscrow(escrowId, nonce, deadline)`. Anyone may submit.
     * @param escrowId The escrow.
     * @param deadline Last chain time at which the signature is accepted.
     * @param signature The payer's EIP-712 signature (ECDSA or ERC-1271).
     */
    function releaseBySig(uint256 escrowId, uint256 deadline, bytes calldata signature) external;

    /**
     * @notice Releases to the payee on a proven reading that meets the escrow's condition. Anyone may submit.
     * @param escrowId The escrow.
     * @param condition The escrow's condition (checked against its hash).
     * @param batchId The batch the reading was anchored in.
     * @param reading The reading.
     * @param signature The device's EIP-712 signature of the reading.
     * @param proof Merkle proof of the reading in the batch.
     */
    function releaseByReading(
        uint256 escrowId,
        Condition calldata condition,
        uint256 batchId,
        ITelemetryAnchor.Reading calldata reading,
        bytes calldata signature,
        bytes32[] calldata proof
    ) external;

    /**
     * @notice Refunds the payer once the deadline has passed. Anyone may call.
     * @param escrowId The escrow.
     */
    function refund(uint256 escrowId) external;

    /**
     * @notice An escrow.
     * @param escrowId The escrow.
     * @return The escrow (status None if it does not exist).
     */
    function getEscrow(uint256 escrowId) external view returns (EscrowInfo memory);

    /**
     * @notice Number of escrows created so far (also the latest id).
     * @return The count.
     */
    function escrowCount() external view returns (uint256);

    /**
     * @notice The current EIP-712 nonce of `account`, which its next `ReleaseEscrow` signature must carry.
     * @param account The signing payer.
     * @return The nonce of the next relayed release of `account`.
     */
    function nonces(address account) external view returns (uint256);

    /**
     * @notice The anchor contract that proves readings.
     * @return The anchor.
     */
    function anchor() external view returns (ITelemetryAnchor);
}
