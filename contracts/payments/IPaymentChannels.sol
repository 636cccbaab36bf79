// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IDeviceRegistry} from "../registry/IDeviceRegistry.sol";
import {IPullPayments} from "./IPullPayments.sol";

/**
 * @title IPaymentChannels
 * @notice Unidirectional payment channels for machine-to-machine micro-payments, in ETH or any ERC-20.
 * A funder (the payer) deposits; a key (the signer: an active registered device key when the channel opens,
 * or the payer itself, fixed for the channel's life) signs EIP-712 vouchers for the **cumulative** amount
 * owed to the payee. The payee redeems the latest voucher at any time (anyone may submit it: the money always goes to
 * the payee), claims the latest vouchers of many channels in one transaction (`claimMany`), closes the
 * channel with it, or answers a close the payer started within the challenge period.
 *
 * A channel's id is deterministic: the EIP-712 hash of its fixed terms (payer, payee, signer, token, cap,
 * expiry and a salt the payer picks) under this contract's domain, so it differs across chains and
 * deployments. A payer or payee that lost its local state finds its channels in `ChannelOpened` (indexed by
 * payer and payee), recomputes each id from the terms and reads the state with `getChannel`. An id opens
 * once and is never reused, even after its channel closed. Every call after `open` passes the terms in
 * full (`ChannelTerms`); the contract derives the id from them, so it stores one slot per channel.
 *
 * Deposits arrive by approve (`open`), by an EIP-2612 permit with a relayed `OpenChannel` signature
 * (`openBySig`), or by an EIP-3009 `receiveWithAuthorization` whose nonce is the channel id
 * (`openWithAuthorization`), so one token signature commits the funder to the channel's terms.
 *
 * A revocation of the signer's device after the channel opened does not void vouchers already signed: the
 * payee is fixed, so a stolen key can only pay the chosen payee up to the channel's cap and deposit, and the
 * payer limits that exposure by starting a close. Letting a revocation void vouchers would let a payer who
 * owns the device dodge a payment it signed for.
 *
 * Payouts follow {IPullPayments}: straight to the recipient, credited for `withdraw` if that fails.
 */
interface IPaymentChannels is IPullPayments {
    /// @notice Life cycle of a channel.
    enum ChannelStatus {
        None,
        Open,
        Closing,
        Closed
    }

    /// @notice Parameters of a new channel.
    /// @param payee Who is paid.
    /// @param signer Key whose vouchers pay the payee: an active device key now, or the payer itself.
    /// @param token ERC-20 token, or the zero address for ETH.
    /// @param amount Deposit (for ETH: msg.value).
    /// @param cap Most the signer may ever authorize in total (0: no cap but the deposit).
    /// @param expiry Last chain time at which vouchers are accepted (0: none). After it, the payer may
    /// finalize without a challenge period.
    /// @param salt Any value that tells apart channels with otherwise equal terms.
    struct OpenParams {
        address payee;
        address signer;
        address token;
        uint96 amount;
        uint96 cap;
        uint48 expiry;
        bytes32 salt;
    }

    /// @notice An EIP-2612 permit for the deposit.
    struct Permit {
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice An EIP-3009 authorization of the deposit, signed by the funder as
    /// `ReceiveWithAuthorization(funder, this contract, amount, validAfter, validBefore, nonce = channel id)`.
    struct TransferAuthorization {
        uint256 validAfter;
        uint256 validBefore;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice The fixed terms of a channel; its id is their EIP-712 hash (type `Channel`).
    /// @param payer The funder, refunded at close.
    /// @param payee Who is paid.
    /// @param signer Device key whose vouchers pay the payee.
    /// @param token ERC-20 token, or the zero address for ETH.
    /// @param cap Most the signer may ever authorize (0: the deposit).
    /// @param expiry Last chain time at which vouchers are accepted (0: none).
    /// @param salt Tells apart channels with otherwise equal terms.
    struct ChannelTerms {
        address payer;
        address payee;
        address signer;
        address token;
        uint96 cap;
        uint48 expiry;
        bytes32 salt;
    }

    /// @notice One channel's latest voucher in a `claimMany`; the payee and token are the call's.
    /// @param payer The channel's payer.
    /// @param signer The channel's device key.
    /// @param cap The channel's cap.
    /// @param expiry The channel's expiry.
    /// @param salt The channel's salt.
    /// @param amount The voucher's cumulative amount.
    /// @param r The signer's EIP-712 `Voucher(channelId, amount)` signature, in EIP-2098 compact form: r.
    /// @param vs The signature's s with the parity of y in its top bit.
    // Calldata only, where every field takes a word; `claimMany` hashes payer..salt in this order.
    // solhint-disable-next-line gas-struct-packing
    struct VoucherClaim {
        address payer;
        address signer;
        uint96 cap;
        uint48 expiry;
        bytes32 salt;
        uint96 amount;
        bytes32 r;
        bytes32 vs;
    }

    /// @notice A channel's changing state as returned by `getChannel`.
    /// @param deposit Total deposited.
    /// @param paid Cumulative amount paid to the payee.
    /// @param closesAt End of the challenge period while closing, else 0.
    /// @param status Life-cycle status.
    struct ChannelInfo {
        uint96 deposit;
        uint96 paid;
        uint48 closesAt;
        ChannelStatus status;
    }

    /// @notice A channel was opened.
    event ChannelOpened(
        uint256 indexed channelId,
        address indexed payer,
        address indexed payee,
        address signer,
        address token,
        uint96 deposit,
        uint96 cap,
        uint48 expiry,
        bytes32 salt
    );

    /// @notice The deposit of a channel grew.
    event ChannelToppedUp(uint256 indexed channelId, address indexed from, uint96 amount, uint96 deposit);

    /// @notice A voucher was redeemed: the payee has now been paid `paid` in total, `payout` of it now.
    event VoucherRedeemed(uint256 indexed channelId, uint96 paid, uint96 payout);

    /// @notice The payer started a close; the payee has until `closesAt` to submit its best voucher.
    event ChannelCloseStarted(uint256 indexed channelId, uint48 closesAt);

    /// @notice A channel closed: the payee got `paid` in total, the payer `refunded`.
    event ChannelClosed(uint256 indexed channelId, uint96 paid, uint96 refunded);

    error ChannelUnknown(uint256 channelId);
    error ChannelNotOpen(uint256 channelId, ChannelStatus status);
    error ChannelInvalidPayee(address payee);
    error ChannelSignerNotValid(address signer);
    error ChannelInvalidDeposit(uint256 expected, uint256 received);
    error ChannelInvalidExpiry(uint48 expiry);
    error ChannelExpired(uint256 channelId, uint48 expiry);
    error ChannelStaleVoucher(uint256 channelId, uint96 amount, uint96 paid);
    error ChannelAmountExceedsDeposit(uint256 channelId, uint256 amount, uint96 deposit);
    error ChannelCapExceeded(uint256 channelId, uint256 amount, uint96 cap);
    error ChannelInvalidVoucher(uint256 channelId, address signer, address recovered);
    error ChannelUnauthorized(uint256 channelId, address account);
    error ChannelInvalidSignature(address expectedSigner);
    error ChannelSignatureExpired(uint256 deadline, uint256 timestamp);
    error ChannelChallengePeriod(uint256 channelId, uint48 closesAt);
    error ChannelTokenRequired();
    /// @notice A channel with these terms (and so this id) was opened before.
    error ChannelExists(uint256 channelId);
    /// @notice The constructor's challenge period is outside [MIN_CHALLENGE_PERIOD, MAX_CHALLENGE_PERIOD].
    error ChannelInvalidChallengePeriod(uint48 challengePeriod);

    /**
     * @notice Opens a channel funded by msg.sender (ETH in msg.value, or an ERC-20 deposit pulled with
     * `transferFrom`; a fee-on-transfer token credits what actually arrived).
     * @param params The channel.
     * @return channelId The new channel's id: `channelIdOf` of its terms, with msg.sender as the payer.
     */
    function open(OpenParams calldata params) external payable returns (uint256 channelId);

    /**
     * @notice Opens an ERC-20 channel funded through EIP-3009 `receiveWithAuthorization` (USDC-style
     * tokens): the funder signed one token authorization whose nonce is the channel's id, which commits it
     * to every term; the amount is the authorization's value. Anyone may submit, and only this contract can
     * execute the authorization, so it cannot be front-run into a bare transfer. Reverts with
     * `ChannelInvalidDeposit` unless the contract received exactly `params.amount`, more than zero: a token
     * that silently accepts the call without moving funds cannot open (squat) the funder's channel id.
     * @param funder The account that deposits and signed.
     * @param params The channel; `params.token` must implement EIP-3009.
     * @param authorization The funder's `ReceiveWithAuthorization` signature and validity window.
     * @return channelId The new channel's id.
     */
    function openWithAuthorization(
        address funder,
        OpenParams calldata params,
        TransferAuthorization calldata authorization
    ) external returns (uint256 channelId);

    /**
     * @notice Opens an ERC-20 channel for a funder that signed `OpenChannel` and an EIP-2612 permit, so
     * that the funder (a device without ETH) needs no transaction of its own. Anyone may submit. The signed
     * `OpenChannel` names the funder, so one signature opens one funder's channel even where several
     * ERC-1271 wallets accept the same key.
     *
     * A front-run permit does not block the open: the allowance it set suffices. Two pending opens of one
     * funder and token are the exception: a permit sets the allowance rather than adding to it, so once a
     * front-runner has used both permits, the allowance covers one deposit and the second open reverts with
     * the token's insufficient-allowance error. The funder then signs a new permit (or opens one at a time).
     * @param funder The account that deposits and signed.
     * @param params The channel.
     * @param deadline Last chain time at which the `OpenChannel` signature is accepted.
     * @param signature The funder's EIP-712 `OpenChannel` signature (ECDSA or ERC-1271).
     * @param permit The funder's permit for `params.amount` to this contract.
     * @return channelId The new channel's id.
     */
    function openBySig(
        address funder,
        OpenParams calldata params,
        uint256 deadline,
        bytes calldata signature,
        Permit calldata permit
    ) external returns (uint256 channelId);

    /**
     * @notice Adds to the deposit of an open channel (not once a close started). Anyone may top up.
     * @param terms The channel's terms, as `ChannelOpened` emitted them.
     * @param amount The amount (for ETH: msg.value).
     */
    function topUp(ChannelTerms calldata terms, uint96 amount) external payable;

    /**
     * @notice Pays the payee up to a voucher's cumulative `amount`, keeping the channel open. Anyone may
     * submit; the payout always goes to the payee.
     * @param terms The channel's terms, as `ChannelOpened` emitted them.
     * @param amount The voucher's cumulative amount; must exceed what was paid so far.
     * @param signature The signer's EIP-712 `Voucher(channelId, amount)` signature.
     */
    function redeem(ChannelTerms calldata terms, uint96 amount, bytes calldata signature) external;

    /**
     * @notice Pays one payee the latest vouchers of many of its channels in one token, in one transaction,
     * with one payout. Anyone may submit; the money always goes to `payee`. A claim whose amount was already
     * paid (someone redeemed that voucher first) is skipped, so a front-run redeem cannot make the batch
     * revert; any other invalid claim reverts the batch with its error.
     * @param payee The payee of every channel.
     * @param token The token of every channel (the zero address for ETH).
     * @param claims Each channel's other terms and its latest voucher.
     * @return paid What the payee received (or was credited) in total.
     */
    function claimMany(address payee, address token, VoucherClaim[] calldata claims) external returns (uint256 paid);

    /**
     * @notice Closes the channel at a voucher's cumulative amount (or at what was paid, with `amount` 0):
     * the payee gets the rest of that amount, the payer the rest of the deposit. Only the payee.
     * @param terms The channel's terms, as `ChannelOpened` emitted them.
     * @param amount The voucher's cumulative amount, or 0 to close at what was paid.
     * @param signature The signer's voucher signature (ignored when `amount` is 0).
     */
    function close(ChannelTerms calldata terms, uint96 amount, bytes calldata signature) external;

    /**
     * @notice `close` for a payee that signed `CloseChannel(channelId, amount, nonce, deadline)`. Anyone may
     * submit.
     */
    function closeBySig(
        ChannelTerms calldata terms,
        uint96 amount,
        bytes calldata voucherSignature,
        uint256 deadline,
        bytes calldata payeeSignature
    ) external;

    /**
     * @notice Starts a close by the payer: the payee has the challenge period to redeem or close with its
     * best voucher; then anyone may `finalize`. No top-up is accepted afterwards.
     * @param terms The channel's terms, as `ChannelOpened` emitted them.
     */
    function startClose(ChannelTerms calldata terms) external;

    /**
     * @notice `startClose` for a payer that signed `StartClose(channelId, nonce, deadline)`. Anyone may submit.
     */
    function startCloseBySig(ChannelTerms calldata terms, uint256 deadline, bytes calldata signature) external;

    /**
     * @notice Ends a channel whose challenge period is over, or whose expiry passed: the payer gets the
     * deposit minus what was paid. Anyone may call.
     * @param terms The channel's terms, as `ChannelOpened` emitted them.
     */
    function finalize(ChannelTerms calldata terms) external;

    /**
     * @notice A channel's state.
     * @param channelId The channel.
     * @return The channel (status None if it does not exist).
     */
    function getChannel(uint256 channelId) external view returns (ChannelInfo memory);

    /**
     * @notice The id of the channel with these terms (opened or not): the EIP-712 hash of
     * `Channel(address payer,address payee,address signer,address token,uint96 cap,uint48 expiry,bytes32 salt)`
     * under this contract's domain.
     * @param terms The terms.
     * @return The channel id.
     */
    function channelIdOf(ChannelTerms calldata terms) external view returns (uint256);

    /// @notice Seconds the payee has to answer a payer's close.
    function challengePeriod() external view returns (uint48);

    /// @notice The device registry that vets signers.
    function registry() external view returns (IDeviceRegistry);

    /**
     * @notice The current EIP-712 nonce of `account`, which its next `OpenChannel`, `CloseChannel` or
     * `StartClose` signature must carry (vouchers carry none: they are cumulative).
     * @param account The signing payer or payee.
     * @return The nonce of the next relayed action of `account`.
     */
    function nonces(address account) external view returns (uint256);
}
