// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IPaymentChannels} from "./IPaymentChannels.sol";

/**
 * @title Channels
 * @notice Storage and state machine of a payment channel: Open → (Closing →) Closed. Four slots, the last
 * written only for token or capped channels. `closesAt` encodes the state: 0 while open, the end of the
 * challenge period while closing, `CLOSED` once closed.
 */
library Channels {
    /// @dev `closesAt` of a closed channel.
    uint48 internal constant CLOSED = type(uint48).max;

    struct Channel {
        address payer;
        uint96 deposit;
        address payee;
        uint96 paid;
        address signer;
        uint48 expiry;
        uint48 closesAt;
        address token;
        uint96 cap;
    }

    function status(Channel storage channel) internal view returns (IPaymentChannels.ChannelStatus) {
        if (channel.payer == address(0)) return IPaymentChannels.ChannelStatus.None;
        uint48 closesAt = channel.closesAt;
        if (closesAt == 0) return IPaymentChannels.ChannelStatus.Open;
        return closesAt == CLOSED ? IPaymentChannels.ChannelStatus.Closed : IPaymentChannels.ChannelStatus.Closing;
    }

    /// @dev Reverts unless the channel is open (not closing, not closed).
    function requireOpen(Channel storage channel, uint256 channelId) internal view {
        IPaymentChannels.ChannelStatus current = status(channel);
        if (current != IPaymentChannels.ChannelStatus.Open) revert IPaymentChannels.ChannelNotOpen(channelId, current);
    }

    /**
     * @dev Reverts unless vouchers are accepted now: the channel is open, or closing with its challenge
     * period running (up to and including `closesAt`), and its expiry (if any) has not passed.
     */
    function requireAcceptsVouchers(Channel storage channel, uint256 channelId) internal view {
        IPaymentChannels.ChannelStatus current = status(channel);
        if (current == IPaymentChannels.ChannelStatus.None) revert IPaymentChannels.ChannelUnknown(channelId);
        if (current == IPaymentChannels.ChannelStatus.Closed)
            revert IPaymentChannels.ChannelNotOpen(channelId, current);
        uint48 closesAt = channel.closesAt;
        if (closesAt != 0 && block.timestamp > closesAt) revert IPaymentChannels.ChannelExpired(channelId, closesAt);
        uint48 expiry = channel.expiry;
        if (expiry != 0 && block.timestamp > expiry) revert IPaymentChannels.ChannelExpired(channelId, expiry);
    }

    /// @dev Checks a voucher's amount against what was paid, the deposit and the cap.
    function checkAmount(Channel storage channel, uint256 channelId, uint96 amount) internal view {
        uint96 paid = channel.paid;
        if (amount <= paid) revert IPaymentChannels.ChannelStaleVoucher(channelId, amount, paid);
        uint96 deposit = channel.deposit;
        if (amount > deposit) revert IPaymentChannels.ChannelAmountExceedsDeposit(channelId, amount, deposit);
        uint96 cap = channel.cap;
        if (cap != 0 && amount > cap) revert IPaymentChannels.ChannelCapExceeded(channelId, amount, cap);
    }

    /// @dev Whether anyone may finalize now: the challenge period is over, or the expiry passed.
    function finalizable(Channel storage channel) internal view returns (bool) {
        uint48 closesAt = channel.closesAt;
        uint48 expiry = channel.expiry;
        return (closesAt != 0 && block.timestamp > closesAt) || (expiry != 0 && block.timestamp > expiry);
    }
}
