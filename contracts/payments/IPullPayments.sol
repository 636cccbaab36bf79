// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title IPullPayments
 * @notice Payouts of the payment contracts: straight to the recipient when the transfer succeeds (ETH with
 * a 30,000 gas stipend, ERC-20 transfers with at most 100,000 gas), credited for `withdraw` when it fails (a reverting or gas-burning contract, a token
 * blocklist, a token returning false), so that no recipient can lock the other party.
 */
interface IPullPayments {
    /// @notice A payout could not be transferred and was credited for `withdraw`.
    event PayoutCredited(address indexed account, address indexed token, uint256 amount);

    /// @notice Credited payouts were withdrawn.
    event Withdrawn(address indexed account, address indexed token, address to, uint256 amount);

    /// @notice Nothing is credited to `account` in `token`.
    error PaymentsNothingToWithdraw(address account, address token);

    /**
     * @notice Withdraws the payouts credited to msg.sender in `token` (zero address: ETH) to `to`.
     * @param token The token.
     * @param to The recipient.
     */
    function withdraw(address token, address to) external;

    /**
     * @notice Payouts credited to `account` in `token`.
     * @param account The account.
     * @param token The token (zero address: ETH).
     * @return The credited amount.
     */
    function credited(address account, address token) external view returns (uint256);
}
