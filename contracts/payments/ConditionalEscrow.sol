// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {ITelemetryAnchor} from "../anchoring/ITelemetryAnchor.sol";
import {IDeviceRegistry} from "../registry/IDeviceRegistry.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";
import {IConditionalEscrow} from "./IConditionalEscrow.sol";
import {PullPayments} from "./PullPayments.sol";

/**
 * @title ConditionalEscrow
 * @notice See {IConditionalEscrow}. The reading condition is stored as a hash; `releaseByReading` takes the
 * condition in full and checks it against the hash.
 */
contract ConditionalEscrow is IConditionalEscrow, EIP712, Nonces, PullPayments {
    bytes32 internal constant RELEASE_ESCROW_TYPEHASH = keccak256(
        "ReleaseEscrow(uint256 escrowId,uint256 nonce,uint256 deadline)"
    );

    struct Escrow {
        address payer;
        uint96 amount;
        address payee;
        uint48 deadline;
        EscrowStatus status;
        address token;
        address arbiter;
        bytes32 conditionHash;
    }

    ITelemetryAnchor private immutable _anchor;
    IDeviceRegistry private immutable _registry;
    uint256 private _escrowCount;
    mapping(uint256 escrowId => Escrow escrow) private _escrows;

    /// @param anchor_ The TelemetryAnchor whose readings can release escrows.
    constructor(ITelemetryAnchor anchor_) EIP712("iotrail ConditionalEscrow", "1") {
        _anchor = anchor_;
        _registry = anchor_.registry();
    }

    /// @inheritdoc IConditionalEscrow
    function create(EscrowParams calldata params) external payable nonReentrant returns (uint256 escrowId) {
        if (params.payee == address(0) || params.payee == msg.sender) revert EscrowInvalidPayee(params.payee);
        if (params.deadline <= block.timestamp) revert EscrowInvalidDeadline(params.deadline);
        Condition calldata condition = params.condition;
        bytes32 conditionHash;
        if (condition.device != address(0)) {
            if (condition.minValue > condition.maxValue || condition.fromTimestamp > condition.toTimestamp) {
                revert EscrowInvalidCondition();
            }
            // Trust in the device key is fixed here, once: an answer about the past never changes, so no later
            // registry change (by a payer who owns the device, or anyone) can take it back.
            if (!_registry.validAt(condition.device, Time.timestamp())) {
                revert EscrowDeviceNotValid(condition.device);
            }
            conditionHash = keccak256(abi.encode(condition));
        }
        uint96 amount;
        if (params.token == address(0)) {
            if (msg.value != params.amount) revert EscrowInvalidDeposit(params.amount, msg.value);
            amount = params.amount;
        } else {
            if (msg.value != 0) revert EscrowInvalidDeposit(0, msg.value);
            amount = _pull(params.token, msg.sender, params.amount);
        }
        escrowId = ++_escrowCount;
        Escrow storage escrow = _escrows[escrowId];
        escrow.payer = msg.sender;
        escrow.amount = amount;
        escrow.payee = params.payee;
        escrow.deadline = params.deadline;
        escrow.status = EscrowStatus.Active;
        if (params.token != address(0)) escrow.token = params.token;
        if (params.arbiter != address(0)) escrow.arbiter = params.arbiter;
        if (conditionHash != 0) escrow.conditionHash = conditionHash;
        emit EscrowCreated(
            escrowId,
            msg.sender,
            params.payee,
            params.token,
            amount,
            params.deadline,
            params.arbiter,
            conditionHash
        );
    }

    /// @inheritdoc IConditionalEscrow
    function release(uint256 escrowId) external nonReentrant {
        Escrow storage escrow = _escrows[escrowId];
        // msg.sender is never the zero address, so an escrow without arbiter admits only its payer.
        if (msg.sender != escrow.payer && msg.sender != escrow.arbiter) {
            revert EscrowUnauthorized(escrowId, msg.sender);
        }
        _release(escrow, escrowId, 0);
    }

    /// @inheritdoc IConditionalEscrow
    function releaseBySig(uint256 escrowId, uint256 deadline, bytes calldata signature) external nonReentrant {
        Escrow storage escrow = _escrows[escrowId];
        address payer = escrow.payer;
        if (payer == address(0)) revert EscrowUnknown(escrowId);
        if (block.timestamp > deadline) revert EscrowSignatureExpired(deadline, block.timestamp);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(RELEASE_ESCROW_TYPEHASH, escrowId, _useNonce(payer), deadline))
        );
        if (!SignatureChecker.isValidSignatureNow(payer, digest, signature)) revert EscrowInvalidSignature(payer);
        _release(escrow, escrowId, 0);
    }

    /// @inheritdoc IConditionalEscrow
    function releaseByReading(
        uint256 escrowId,
        Condition calldata condition,
        uint256 batchId,
        ITelemetryAnchor.Reading calldata reading,
        bytes calldata signature,
        bytes32[] calldata proof
    ) external nonReentrant {
        Escrow storage escrow = _escrows[escrowId];
        bytes32 expected = escrow.conditionHash;
        bytes32 given = keccak256(abi.encode(condition));
        if (expected == 0 || expected != given) revert EscrowConditionMismatch(escrowId, expected, given);
        if (reading.device != condition.device || reading.metric != condition.metric) {
            revert EscrowReadingMismatch(escrowId, reading.device, reading.metric);
        }
        if (reading.value < condition.minValue || reading.value > condition.maxValue) {
            revert EscrowValueOutOfRange(escrowId, reading.value, condition.minValue, condition.maxValue);
        }
        if (reading.timestamp < condition.fromTimestamp || reading.timestamp > condition.toTimestamp) {
            revert EscrowTimestampOutOfWindow(
                escrowId,
                reading.timestamp,
                condition.fromTimestamp,
                condition.toTimestamp
            );
        }
        // Signature and inclusion in the anchored batch; reverts otherwise. The device key's validity was
        // established at creation and is deliberately not asked again (see IConditionalEscrow).
        _anchor.checkSignedReading(batchId, reading, signature, proof);
        _release(escrow, escrowId, batchId);
    }

    /// @inheritdoc IConditionalEscrow
    function refund(uint256 escrowId) external nonReentrant {
        Escrow storage escrow = _escrows[escrowId];
        _requireActive(escrow, escrowId);
        uint48 deadline = escrow.deadline;
        if (block.timestamp <= deadline) revert EscrowNotExpired(escrowId, deadline);
        escrow.status = EscrowStatus.Refunded;
        emit EscrowRefunded(escrowId);
        _payout(escrow.payer, escrow.token, escrow.amount);
    }

    /// @inheritdoc IConditionalEscrow
    function getEscrow(uint256 escrowId) external view returns (EscrowInfo memory) {
        Escrow storage escrow = _escrows[escrowId];
        return
            EscrowInfo({
                payer: escrow.payer,
                payee: escrow.payee,
                token: escrow.token,
                arbiter: escrow.arbiter,
                amount: escrow.amount,
                deadline: escrow.deadline,
                conditionHash: escrow.conditionHash,
                status: escrow.status
            });
    }

    /// @inheritdoc IConditionalEscrow
    function escrowCount() external view returns (uint256) {
        return _escrowCount;
    }

    /// @inheritdoc IConditionalEscrow
    function nonces(address account) public view override(IConditionalEscrow, Nonces) returns (uint256) {
        return super.nonces(account);
    }

    /// @inheritdoc IConditionalEscrow
    function anchor() external view returns (ITelemetryAnchor) {
        return _anchor;
    }

    function _release(Escrow storage escrow, uint256 escrowId, uint256 batchId) private {
        _requireActive(escrow, escrowId);
        uint48 deadline = escrow.deadline;
        if (block.timestamp > deadline) revert EscrowExpired(escrowId, deadline);
        escrow.status = EscrowStatus.Released;
        emit EscrowReleased(escrowId, msg.sender, batchId);
        _payout(escrow.payee, escrow.token, escrow.amount);
    }

    function _requireActive(Escrow storage escrow, uint256 escrowId) private view {
        EscrowStatus status = escrow.status;
        if (status == EscrowStatus.None) revert EscrowUnknown(escrowId);
        if (status != EscrowStatus.Active) revert EscrowNotActive(escrowId, status);
    }
}
