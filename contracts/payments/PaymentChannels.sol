// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";
import {IDeviceRegistry} from "../registry/IDeviceRegistry.sol";
import {IPaymentChannels} from "./IPaymentChannels.sol";
import {Channels} from "./Channels.sol";
import {PullPayments} from "./PullPayments.sol";

/**
 * @title PaymentChannels
 * @notice See {IPaymentChannels}. Signatures: vouchers by the channel's device key (ECDSA, low s only);
 * relayed actions by the payer or payee (ECDSA or ERC-1271), each with its own type hash and nonce.
 */
contract PaymentChannels is IPaymentChannels, EIP712, Nonces, PullPayments {
    using Channels for Channels.Channel;

    bytes32 internal constant VOUCHER_TYPEHASH = keccak256("Voucher(uint256 channelId,uint256 amount)");
    bytes32 internal constant OPEN_CHANNEL_TYPEHASH = keccak256(
        "OpenChannel(address funder,address payee,address signer,address token,uint256 amount,uint256 cap,uint256 expiry,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant CLOSE_CHANNEL_TYPEHASH = keccak256(
        "CloseChannel(uint256 channelId,uint256 amount,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant START_CLOSE_TYPEHASH = keccak256(
        "StartClose(uint256 channelId,uint256 nonce,uint256 deadline)"
    );

    /// @notice Shortest challenge period a deployment accepts: time for a payee to answer a payer's close.
    uint48 public constant MIN_CHALLENGE_PERIOD = 1 hours;
    /// @notice Longest challenge period a deployment accepts; also keeps `closesAt` far from `CLOSED`.
    uint48 public constant MAX_CHALLENGE_PERIOD = 365 days;

    IDeviceRegistry private immutable _registry;
    uint48 private immutable _challengePeriod;
    uint256 private _channelCount;
    mapping(uint256 channelId => Channels.Channel channel) private _channels;

    /// @param registry_ The device registry that vets signers.
    /// @param challengePeriod_ Seconds the payee has to answer a payer's close, from `MIN_CHALLENGE_PERIOD` to
    /// `MAX_CHALLENGE_PERIOD`.
    constructor(IDeviceRegistry registry_, uint48 challengePeriod_) EIP712("iotrail PaymentChannels", "1") {
        if (challengePeriod_ < MIN_CHALLENGE_PERIOD || challengePeriod_ > MAX_CHALLENGE_PERIOD) {
            revert ChannelInvalidChallengePeriod(challengePeriod_);
        }
        _registry = registry_;
        _challengePeriod = challengePeriod_;
    }

    /// @inheritdoc IPaymentChannels
    function open(OpenParams calldata params) external payable nonReentrant returns (uint256 channelId) {
        uint96 deposit;
        if (params.token == address(0)) {
            if (msg.value != params.amount) revert ChannelInvalidDeposit(params.amount, msg.value);
            deposit = params.amount;
        } else {
            if (msg.value != 0) revert ChannelInvalidDeposit(0, msg.value);
            deposit = _pull(params.token, msg.sender, params.amount);
        }
        return _open(msg.sender, params, deposit);
    }

    /// @inheritdoc IPaymentChannels
    function openBySig(
        address funder,
        OpenParams calldata params,
        uint256 deadline,
        bytes calldata signature,
        Permit calldata permit
    ) external nonReentrant returns (uint256 channelId) {
        if (params.token == address(0)) revert ChannelTokenRequired();
        // A static struct encodes as its fields in order, each padded to a word: the same words as the type's
        // uint256 amount, cap and expiry.
        bytes32 structHash = keccak256(abi.encode(OPEN_CHANNEL_TYPEHASH, funder, params, _useNonce(funder), deadline));
        _checkSignature(funder, structHash, deadline, signature);
        // A front-runner may have used the permit already; the allowance then suffices.
        try
            IERC20Permit(params.token).permit(
                funder,
                address(this),
                params.amount,
                permit.deadline,
                permit.v,
                permit.r,
                permit.s
            )
        {} catch {} // solhint-disable-line no-empty-blocks
        return _open(funder, params, _pull(params.token, funder, params.amount));
    }

    /// @inheritdoc IPaymentChannels
    function topUp(uint256 channelId, ChannelTerms calldata terms, uint96 amount) external payable nonReentrant {
        Channels.Channel storage channel = _channels[channelId];
        channel.checkTerms(channelId, terms);
        channel.requireOpen(channelId);
        uint96 received;
        if (terms.token == address(0)) {
            if (msg.value != amount) revert ChannelInvalidDeposit(amount, msg.value);
            received = amount;
        } else {
            if (msg.value != 0) revert ChannelInvalidDeposit(0, msg.value);
            received = _pull(terms.token, msg.sender, amount);
        }
        uint96 deposit = channel.deposit + received;
        channel.deposit = deposit;
        emit ChannelToppedUp(channelId, msg.sender, received, deposit);
    }

    /// @inheritdoc IPaymentChannels
    function redeem(
        uint256 channelId,
        ChannelTerms calldata terms,
        uint96 amount,
        bytes calldata signature
    ) external nonReentrant {
        Channels.Channel storage channel = _channels[channelId];
        channel.checkTerms(channelId, terms);
        uint96 owed = _acceptVoucher(channel, channelId, terms, amount, signature);
        emit VoucherRedeemed(channelId, amount, owed);
        _payout(terms.payee, terms.token, owed);
    }

    /// @inheritdoc IPaymentChannels
    function close(
        uint256 channelId,
        ChannelTerms calldata terms,
        uint96 amount,
        bytes calldata signature
    ) external nonReentrant {
        Channels.Channel storage channel = _channels[channelId];
        channel.checkTerms(channelId, terms);
        if (msg.sender != terms.payee) revert ChannelUnauthorized(channelId, msg.sender);
        _close(channel, channelId, terms, amount, signature);
    }

    /// @inheritdoc IPaymentChannels
    function closeBySig(
        uint256 channelId,
        ChannelTerms calldata terms,
        uint96 amount,
        bytes calldata voucherSignature,
        uint256 deadline,
        bytes calldata payeeSignature
    ) external nonReentrant {
        Channels.Channel storage channel = _channels[channelId];
        channel.checkTerms(channelId, terms);
        bytes32 structHash = keccak256(
            abi.encode(CLOSE_CHANNEL_TYPEHASH, channelId, amount, _useNonce(terms.payee), deadline)
        );
        _checkSignature(terms.payee, structHash, deadline, payeeSignature);
        _close(channel, channelId, terms, amount, voucherSignature);
    }

    /// @inheritdoc IPaymentChannels
    function startClose(uint256 channelId, ChannelTerms calldata terms) external {
        Channels.Channel storage channel = _channels[channelId];
        channel.checkTerms(channelId, terms);
        if (msg.sender != terms.payer) revert ChannelUnauthorized(channelId, msg.sender);
        _startClose(channel, channelId);
    }

    /// @inheritdoc IPaymentChannels
    function startCloseBySig(
        uint256 channelId,
        ChannelTerms calldata terms,
        uint256 deadline,
        bytes calldata signature
    ) external {
        Channels.Channel storage channel = _channels[channelId];
        channel.checkTerms(channelId, terms);
        bytes32 structHash = keccak256(abi.encode(START_CLOSE_TYPEHASH, channelId, _useNonce(terms.payer), deadline));
        _checkSignature(terms.payer, structHash, deadline, signature);
        _startClose(channel, channelId);
    }

    /// @inheritdoc IPaymentChannels
    function finalize(uint256 channelId, ChannelTerms calldata terms) external nonReentrant {
        Channels.Channel storage channel = _channels[channelId];
        channel.checkTerms(channelId, terms);
        ChannelStatus current = channel.status();
        if (current == ChannelStatus.Closed) revert ChannelNotOpen(channelId, current);
        if (!channel.finalizable(terms.expiry)) revert ChannelChallengePeriod(channelId, channel.closesAt);
        _settle(channel, channelId, terms);
    }

    /// @inheritdoc IPaymentChannels
    function nonces(address account) public view override(IPaymentChannels, Nonces) returns (uint256) {
        return super.nonces(account);
    }

    /// @inheritdoc IPaymentChannels
    function getChannel(uint256 channelId) external view returns (ChannelInfo memory) {
        Channels.Channel storage channel = _channels[channelId];
        uint48 closesAt = channel.closesAt;
        return
            ChannelInfo({
                termsHash: channel.termsHash,
                deposit: channel.deposit,
                paid: channel.paid,
                closesAt: closesAt == Channels.CLOSED ? 0 : closesAt,
                status: channel.status()
            });
    }

    /// @inheritdoc IPaymentChannels
    function termsHash(ChannelTerms calldata terms) external pure returns (bytes32) {
        return Channels.hash(terms);
    }

    /// @inheritdoc IPaymentChannels
    function channelCount() external view returns (uint256) {
        return _channelCount;
    }

    /// @inheritdoc IPaymentChannels
    function challengePeriod() external view returns (uint48) {
        return _challengePeriod;
    }

    /// @inheritdoc IPaymentChannels
    function registry() external view returns (IDeviceRegistry) {
        return _registry;
    }

    function _open(address payer, OpenParams calldata params, uint96 deposit) private returns (uint256 channelId) {
        if (params.payee == address(0) || params.payee == payer) revert ChannelInvalidPayee(params.payee);
        if (params.expiry != 0 && params.expiry <= block.timestamp) revert ChannelInvalidExpiry(params.expiry);
        if (!_registry.validAt(params.signer, Time.timestamp())) revert ChannelSignerNotValid(params.signer);
        channelId = ++_channelCount;
        Channels.Channel storage channel = _channels[channelId];
        channel.termsHash = keccak256(
            abi.encode(payer, params.payee, params.signer, params.token, params.cap, params.expiry)
        );
        channel.deposit = deposit;
        emit ChannelOpened(
            channelId,
            payer,
            params.payee,
            params.signer,
            params.token,
            deposit,
            params.cap,
            params.expiry
        );
    }

    /// @dev Validates a voucher, records it as paid and returns what is newly owed to the payee.
    function _acceptVoucher(
        Channels.Channel storage channel,
        uint256 channelId,
        ChannelTerms calldata terms,
        uint96 amount,
        bytes calldata signature
    ) private returns (uint96 owed) {
        channel.requireAcceptsVouchers(channelId, terms.expiry);
        channel.checkAmount(channelId, amount, terms.cap);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(VOUCHER_TYPEHASH, channelId, amount)));
        (address recovered, ECDSA.RecoverError error, ) = ECDSA.tryRecover(digest, signature);
        if (error != ECDSA.RecoverError.NoError || recovered != terms.signer) {
            revert ChannelInvalidVoucher(channelId, terms.signer, recovered);
        }
        // checkAmount proved amount > paid.
        unchecked {
            owed = amount - channel.paid;
        }
        channel.paid = amount;
    }

    function _close(
        Channels.Channel storage channel,
        uint256 channelId,
        ChannelTerms calldata terms,
        uint96 amount,
        bytes calldata signature
    ) private {
        if (amount == 0) {
            ChannelStatus current = channel.status();
            if (current == ChannelStatus.Closed) revert ChannelNotOpen(channelId, current);
        } else {
            uint96 owed = _acceptVoucher(channel, channelId, terms, amount, signature);
            emit VoucherRedeemed(channelId, amount, owed);
            _payout(terms.payee, terms.token, owed);
        }
        _settle(channel, channelId, terms);
    }

    function _startClose(Channels.Channel storage channel, uint256 channelId) private {
        channel.requireOpen(channelId);
        uint48 closesAt = Time.timestamp() + _challengePeriod;
        channel.closesAt = closesAt;
        emit ChannelCloseStarted(channelId, closesAt);
    }

    /// @dev Closes the channel and refunds the payer the deposit minus what was paid.
    function _settle(Channels.Channel storage channel, uint256 channelId, ChannelTerms calldata terms) private {
        channel.closesAt = Channels.CLOSED;
        uint96 paid = channel.paid;
        // paid never exceeds deposit (checkAmount).
        uint96 refund;
        unchecked {
            refund = channel.deposit - paid;
        }
        emit ChannelClosed(channelId, paid, refund);
        _payout(terms.payer, terms.token, refund);
    }

    function _checkSignature(
        address signer,
        bytes32 structHash,
        uint256 deadline,
        bytes calldata signature
    ) private view {
        if (block.timestamp > deadline) revert ChannelSignatureExpired(deadline, block.timestamp);
        if (!SignatureChecker.isValidSignatureNow(signer, _hashTypedDataV4(structHash), signature)) {
            revert ChannelInvalidSignature(signer);
        }
    }
}
