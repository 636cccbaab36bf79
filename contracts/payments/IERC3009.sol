// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title IERC3009
 * @notice EIP-3009, transfer with authorization, as USDC implements it (including the `bytes signature`
 * overloads of USDC v2.2, which also take ERC-1271 wallets). A holder signs a transfer off-chain under the
 * token's EIP-712 domain; anyone may submit a `TransferWithAuthorization` (x402's `exact` scheme does), and
 * only the recipient may submit a `ReceiveWithAuthorization` (PaymentChannels does). Each authorization
 * names a random 32-byte nonce of the holder's choosing, used at most once.
 */
interface IERC3009 {
    /// @notice `authorizer` used `nonce`: a transfer with its authorization was executed.
    event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce);

    /// @notice `authorizer` canceled `nonce` before anyone used it.
    event AuthorizationCanceled(address indexed authorizer, bytes32 indexed nonce);

    /// @notice The block's time is not after the authorization's `validAfter`.
    error ERC3009AuthorizationNotYetValid(uint256 validAfter, uint256 blockTime);

    /// @notice The block's time is not before the authorization's `validBefore`.
    error ERC3009AuthorizationExpired(uint256 validBefore, uint256 blockTime);

    /// @notice `nonce` of `authorizer` was used or canceled already.
    error ERC3009AuthorizationUsedOrCanceled(address authorizer, bytes32 nonce);

    /// @notice The signature is not `authorizer`'s for this authorization (ECDSA, or ERC-1271 for a contract).
    error ERC3009InvalidSignature(address authorizer);

    /// @notice A `receiveWithAuthorization` submitted by someone other than its recipient.
    error ERC3009CallerNotPayee(address caller, address payee);

    /**
     * @notice Transfers `value` from `from` to `to` with `from`'s signature of
     * `TransferWithAuthorization(from, to, value, validAfter, validBefore, nonce)`; anyone may submit it.
     * @param from The payer, who signed.
     * @param to The recipient.
     * @param value The amount.
     * @param validAfter The authorization is valid only after this time.
     * @param validBefore The authorization is valid only before this time.
     * @param nonce A unique nonce the signer chose; each is used once.
     * @param v The signature's v.
     * @param r The signature's r.
     * @param s The signature's s.
     */
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external;

    /**
     * @notice As the `v, r, s` form, with the signature as bytes: 65 bytes for a key, or whatever an ERC-1271
     * wallet at `from` accepts.
     * @param from The payer, who signed.
     * @param to The recipient.
     * @param value The amount.
     * @param validAfter The authorization is valid only after this time.
     * @param validBefore The authorization is valid only before this time.
     * @param nonce A unique nonce the signer chose; each is used once.
     * @param signature The signature.
     */
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external;

    /**
     * @notice Transfers `value` from `from` to the caller, which must be `to`, with `from`'s signature of
     * `ReceiveWithAuthorization(from, to, value, validAfter, validBefore, nonce)` under the token's domain.
     * @param from The payer, who signed.
     * @param to The recipient: the caller.
     * @param value The amount.
     * @param validAfter The authorization is valid only after this time.
     * @param validBefore The authorization is valid only before this time.
     * @param nonce A unique nonce the signer chose; each is used once.
     * @param v The signature's v.
     * @param r The signature's r.
     * @param s The signature's s.
     */
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external;

    /**
     * @notice As the `v, r, s` form, with the signature as bytes (a key's, or an ERC-1271 wallet's).
     * @param from The payer, who signed.
     * @param to The recipient: the caller.
     * @param value The amount.
     * @param validAfter The authorization is valid only after this time.
     * @param validBefore The authorization is valid only before this time.
     * @param nonce A unique nonce the signer chose; each is used once.
     * @param signature The signature.
     */
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external;

    /**
     * @notice Cancels an authorization nobody used yet, with `authorizer`'s signature of
     * `CancelAuthorization(authorizer, nonce)`.
     * @param authorizer The signer of the authorization to cancel.
     * @param nonce Its nonce.
     * @param v The signature's v.
     * @param r The signature's r.
     * @param s The signature's s.
     */
    function cancelAuthorization(address authorizer, bytes32 nonce, uint8 v, bytes32 r, bytes32 s) external;

    /**
     * @notice Whether `nonce` of `authorizer` was used (or canceled).
     * @param authorizer The signer.
     * @param nonce The nonce.
     * @return True once used or canceled.
     */
    function authorizationState(address authorizer, bytes32 nonce) external view returns (bool);
}
