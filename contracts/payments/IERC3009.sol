// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title IERC3009
 * @notice The part of EIP-3009 (transfer with authorization, as USDC implements it) that PaymentChannels
 * uses: a transfer the holder signed off-chain, which only the recipient may execute.
 */
interface IERC3009 {
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
     * @notice Whether `nonce` of `authorizer` was used (or canceled).
     * @param authorizer The signer.
     * @param nonce The nonce.
     * @return True once used or canceled.
     */
    function authorizationState(address authorizer, bytes32 nonce) external view returns (bool);
}
