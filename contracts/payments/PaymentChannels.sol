// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";
import {IDeviceRegistry} from "../registry/IDeviceRegistry.sol";
import {IERC3009} from "./IERC3009.sol";
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

    bytes32 internal constant CHANNEL_TYPEHASH = keccak256(
        "Channel(address payer,address payee,address signer,address token,uint96 cap,uint48 expiry,bytes32 salt)"
    );
    bytes32 internal constant VOUCHER_TYPEHASH = keccak256("Voucher(uint256 channelId,uint256 amount)");
    bytes32 internal constant OPEN_CHANNEL_TYPEHASH = keccak256(
        "OpenChannel(address funder,address payee,address signer,address token,uint256 amount,uint256 cap,uint256 expiry,bytes32 salt,uint256 nonce,uint256 deadline)"
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
        ChannelTerms memory terms = _checkOpen(msg.sender, params);
        channelId = _channelId(terms);
        _requireNew(channelId);
        uint96 deposit;
        if (params.token == address(0)) {
            if (msg.value != params.amount) revert ChannelInvalidDeposit(params.amount, msg.value);
            deposit = params.amount;
        } else {
            if (msg.value != 0) revert ChannelInvalidDeposit(0, msg.value);
            deposit = _pull(params.token, msg.sender, params.amount);
        }
        _store(channelId, terms, deposit);
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
        ChannelTerms memory terms = _checkOpen(funder, params);
        channelId = _channelId(terms);
        _requireNew(channelId);
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
        _store(channelId, terms, _pull(params.token, funder, params.amount));
    }

    /// @inheritdoc IPaymentChannels
    function openWithAuthorization(
        address funder,
        OpenParams calldata params,
        TransferAuthorization calldata authorization
    ) external nonReentrant returns (uint256 channelId) {
        if (params.token == address(0)) revert ChannelTokenRequired();
        ChannelTerms memory terms = _checkOpen(funder, params);
        channelId = _channelId(terms);
        _requireNew(channelId);
        uint256 before = IERC20(params.token).balanceOf(address(this));
        IERC3009(params.token).receiveWithAuthorization(
            funder,
            address(this),
            params.amount,
            authorization.validAfter,
            authorization.validBefore,
            bytes32(channelId),
            authorization.v,
            authorization.r,
            authorization.s
        );
        // Exactly the authorized amount, and more than nothing (N-L2): a token that accepts any call (a
        // WETH9-style fallback) must not let anyone squat the funder's channel id with an empty deposit.
        uint256 received = IERC20(params.token).balanceOf(address(this)) - before;
        if (params.amount == 0 || received != params.amount) revert ChannelInvalidDeposit(params.amount, received);
        _store(channelId, terms, SafeCast.toUint96(received));
    }

    /// @inheritdoc IPaymentChannels
    function topUp(ChannelTerms calldata terms, uint96 amount) external payable nonReentrant {
        uint256 channelId = _channelId(terms);
        Channels.Channel storage stored = _channels[channelId];
        Channels.Channel memory channel = stored;
        channel.requireOpened(channelId);
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
        stored.deposit = deposit;
        emit ChannelToppedUp(channelId, msg.sender, received, deposit);
    }

    /// @inheritdoc IPaymentChannels
    function redeem(ChannelTerms calldata terms, uint96 amount, bytes calldata signature) external nonReentrant {
        _payout(terms.payee, terms.token, _acceptVoucher(_channelId(terms), terms, amount, signature));
    }

    /// @inheritdoc IPaymentChannels
    function claimMany(
        address payee,
        address token,
        VoucherClaim[] calldata claims
    ) external nonReentrant returns (uint256 paid) {
        uint256 count = claims.length;
        for (uint256 i; i < count;) {
            VoucherClaim calldata claim = claims[i];
            uint256 channelId = _claimedChannelId(claim, payee, token);
            uint96 amount = claim.amount;
            Channels.Channel storage stored = _channels[channelId];
            Channels.Channel memory channel = stored;
            // Already paid up to this voucher: someone redeemed it first; skip it rather than fail the batch.
            if (amount > channel.paid) {
                (address recovered, ECDSA.RecoverError error, ) = ECDSA.tryRecover(
                    _voucherDigest(channelId, amount),
                    claim.r,
                    claim.vs
                );
                paid += _pay(
                    stored,
                    channel,
                    channelId,
                    claim.signer,
                    claim.cap,
                    claim.expiry,
                    amount,
                    _ok(recovered, error)
                );
            }
            // i < count, which is a calldata array length.
            unchecked {
                ++i;
            }
        }
        _payout(payee, token, paid);
    }

    /// @inheritdoc IPaymentChannels
    function close(ChannelTerms calldata terms, uint96 amount, bytes calldata signature) external nonReentrant {
        uint256 channelId = _channelId(terms);
        if (msg.sender != terms.payee) revert ChannelUnauthorized(channelId, msg.sender);
        _close(channelId, terms, amount, signature);
    }

    /// @inheritdoc IPaymentChannels
    function closeBySig(
        ChannelTerms calldata terms,
        uint96 amount,
        bytes calldata voucherSignature,
        uint256 deadline,
        bytes calldata payeeSignature
    ) external nonReentrant {
        uint256 channelId = _channelId(terms);
        _channels[channelId].requireOpened(channelId);
        bytes32 structHash = keccak256(
            abi.encode(CLOSE_CHANNEL_TYPEHASH, channelId, amount, _useNonce(terms.payee), deadline)
        );
        _checkSignature(terms.payee, structHash, deadline, payeeSignature);
        _close(channelId, terms, amount, voucherSignature);
    }

    /// @inheritdoc IPaymentChannels
    function startClose(ChannelTerms calldata terms) external {
        uint256 channelId = _channelId(terms);
        if (msg.sender != terms.payer) revert ChannelUnauthorized(channelId, msg.sender);
        _startClose(channelId);
    }

    /// @inheritdoc IPaymentChannels
    function startCloseBySig(ChannelTerms calldata terms, uint256 deadline, bytes calldata signature) external {
        uint256 channelId = _channelId(terms);
        _channels[channelId].requireOpened(channelId);
        bytes32 structHash = keccak256(abi.encode(START_CLOSE_TYPEHASH, channelId, _useNonce(terms.payer), deadline));
        _checkSignature(terms.payer, structHash, deadline, signature);
        _startClose(channelId);
    }

    /// @inheritdoc IPaymentChannels
    function finalize(ChannelTerms calldata terms) external nonReentrant {
        uint256 channelId = _channelId(terms);
        Channels.Channel memory channel = _channels[channelId];
        channel.requireOpened(channelId);
        ChannelStatus current = channel.status();
        if (current == ChannelStatus.Closed) revert ChannelNotOpen(channelId, current);
        if (!channel.finalizable(terms.expiry)) revert ChannelChallengePeriod(channelId, channel.closesAt);
        _settle(channelId, terms);
    }

    /// @inheritdoc IPaymentChannels
    function nonces(address account) public view override(IPaymentChannels, Nonces) returns (uint256) {
        return super.nonces(account);
    }

    /// @inheritdoc IPaymentChannels
    function getChannel(uint256 channelId) external view returns (ChannelInfo memory) {
        Channels.Channel memory channel = _channels[channelId];
        uint48 closesAt = channel.closesAt;
        return
            ChannelInfo({
                deposit: channel.deposit,
                paid: channel.paid,
                closesAt: closesAt == Channels.CLOSED ? 0 : closesAt,
                status: channel.status()
            });
    }

    /// @inheritdoc IPaymentChannels
    function channelIdOf(ChannelTerms calldata terms) external view returns (uint256) {
        return _channelId(terms);
    }

    /// @inheritdoc IPaymentChannels
    function challengePeriod() external view returns (uint48) {
        return _challengePeriod;
    }

    /// @inheritdoc IPaymentChannels
    function registry() external view returns (IDeviceRegistry) {
        return _registry;
    }

    /// @dev The EIP-712 hash of the terms under this contract's domain. A static struct encodes as its fields
    /// in order, each padded to a word: the words EIP-712 hashes.
    function _channelId(ChannelTerms memory terms) private view returns (uint256) {
        return uint256(_hashTypedDataV4(keccak256(abi.encode(CHANNEL_TYPEHASH, terms))));
    }

    /**
     * @dev `_channelId` of a claim's channel, hashed from calldata in the free memory (left unallocated) rather
     * than built as terms: `claimMany` pays this per channel. Fields are hashed as sent; a field with dirty high
     * bits hashes to an id that was never opened, and `claimMany` then reverts with `ChannelUnknown`.
     */
    function _claimedChannelId(
        VoucherClaim calldata claim,
        address payee,
        address token
    ) private view returns (uint256) {
        bytes32 typeHash = CHANNEL_TYPEHASH;
        bytes32 structHash;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            mstore(add(m, 0x20), calldataload(claim)) // payer
            mstore(add(m, 0x40), payee)
            mstore(add(m, 0x60), calldataload(add(claim, 0x20))) // signer
            mstore(add(m, 0x80), token)
            calldatacopy(add(m, 0xa0), add(claim, 0x40), 0x60) // cap, expiry, salt
            structHash := keccak256(m, 0x100)
        }
        return uint256(_hashTypedDataV4(structHash));
    }

    /// @dev Checks a new channel's parameters and returns its terms with `payer`.
    function _checkOpen(address payer, OpenParams calldata params) private view returns (ChannelTerms memory) {
        if (params.payee == address(0) || params.payee == payer) revert ChannelInvalidPayee(params.payee);
        if (params.expiry != 0 && params.expiry <= block.timestamp) revert ChannelInvalidExpiry(params.expiry);
        // The payer may sign its own vouchers: its money, its key, no registry standing needed. Any other signer
        // must be an active device key, so that its owner can suspend or revoke it.
        if (params.signer != payer && !_registry.validAt(params.signer, Time.timestamp())) {
            revert ChannelSignerNotValid(params.signer);
        }
        return ChannelTerms(payer, params.payee, params.signer, params.token, params.cap, params.expiry, params.salt);
    }

    function _requireNew(uint256 channelId) private view {
        if (_channels[channelId].opened) revert ChannelExists(channelId);
    }

    function _store(uint256 channelId, ChannelTerms memory terms, uint96 deposit) private {
        _channels[channelId] = Channels.Channel({deposit: deposit, paid: 0, closesAt: 0, opened: true});
        emit ChannelOpened(
            channelId,
            terms.payer,
            terms.payee,
            terms.signer,
            terms.token,
            deposit,
            terms.cap,
            terms.expiry,
            terms.salt
        );
    }

    /// @dev The EIP-712 digest of `Voucher(channelId, amount)`.
    function _voucherDigest(uint256 channelId, uint96 amount) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(VOUCHER_TYPEHASH, channelId, amount)));
    }

    /// @dev Who signed the voucher (ECDSA, low s only), or the zero address for an invalid signature.
    function _voucherSigner(uint256 channelId, uint96 amount, bytes calldata signature) private view returns (address) {
        (address recovered, ECDSA.RecoverError error, ) = ECDSA.tryRecover(
            _voucherDigest(channelId, amount),
            signature
        );
        return _ok(recovered, error);
    }

    function _ok(address recovered, ECDSA.RecoverError error) private pure returns (address) {
        return error == ECDSA.RecoverError.NoError ? recovered : address(0);
    }

    /// @dev Checks a voucher of the channel with `terms` (see `_pay`), records it and returns what is newly owed.
    function _acceptVoucher(
        uint256 channelId,
        ChannelTerms calldata terms,
        uint96 amount,
        bytes calldata signature
    ) private returns (uint96) {
        address recovered = _voucherSigner(channelId, amount, signature);
        Channels.Channel storage stored = _channels[channelId];
        return _pay(stored, stored, channelId, terms.signer, terms.cap, terms.expiry, amount, recovered);
    }

    /**
     * @dev Checks a voucher of `amount` that `recovered` signed (zero: an invalid signature) against the
     * channel (`channel`: its slot `stored` as read before), records it as paid and returns what is newly owed
     * to the payee.
     */
    function _pay(
        Channels.Channel storage stored,
        Channels.Channel memory channel,
        uint256 channelId,
        address signer,
        uint96 cap,
        uint48 expiry,
        uint96 amount,
        address recovered
    ) private returns (uint96 owed) {
        channel.requireOpened(channelId);
        channel.requireAcceptsVouchers(channelId, expiry);
        channel.checkAmount(channelId, amount, cap);
        // The registry never vets the zero address, so an invalid signature never matches.
        if (recovered != signer) revert ChannelInvalidVoucher(channelId, signer, recovered);
        // checkAmount proved amount > paid.
        unchecked {
            owed = amount - channel.paid;
        }
        stored.paid = amount;
        emit VoucherRedeemed(channelId, amount, owed);
    }

    function _close(uint256 channelId, ChannelTerms calldata terms, uint96 amount, bytes calldata signature) private {
        if (amount == 0) {
            Channels.Channel memory channel = _channels[channelId];
            channel.requireOpened(channelId);
            ChannelStatus current = channel.status();
            if (current == ChannelStatus.Closed) revert ChannelNotOpen(channelId, current);
        } else {
            _payout(terms.payee, terms.token, _acceptVoucher(channelId, terms, amount, signature));
        }
        _settle(channelId, terms);
    }

    function _startClose(uint256 channelId) private {
        Channels.Channel storage stored = _channels[channelId];
        Channels.Channel memory channel = stored;
        channel.requireOpened(channelId);
        channel.requireOpen(channelId);
        uint48 closesAt = Time.timestamp() + _challengePeriod;
        stored.closesAt = closesAt;
        emit ChannelCloseStarted(channelId, closesAt);
    }

    /// @dev Closes the channel and refunds the payer the deposit minus what was paid.
    function _settle(uint256 channelId, ChannelTerms calldata terms) private {
        Channels.Channel storage stored = _channels[channelId];
        stored.closesAt = Channels.CLOSED;
        uint96 paid = stored.paid;
        // paid never exceeds deposit (checkAmount).
        uint96 refund;
        unchecked {
            refund = stored.deposit - paid;
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
