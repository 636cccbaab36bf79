// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IPaymentChannels} from "./IPaymentChannels.sol";

/**
 * @title Channels
 * @notice Storage and state machine of a payment channel: Open → (Closing →) Closed, in one slot: deposit,
 * paid, `closesAt` and whether it opened. The terms are not stored: the channel's id is their hash.
 * `closesAt` encodes the state: 0 while open, the end of the challenge period while closing, `CLOSED` once
 * closed.
 */
library Channels {
    /// @dev `closesAt` of a closed channel.
    uint48 internal constant CLOSED = type(uint48).max;

    struct Channel {
        uint96 deposit;
        uint96 paid;
        uint48 closesAt;
        bool opened;
    }

    function status(Channel memory channel) internal pure returns (IPaymentChannels.ChannelStatus) {
        if (!channel.opened) return IPaymentChannels.ChannelStatus.None;
        uint48 closesAt = channel.closesAt;
        if (closesAt == 0) return IPaymentChannels.ChannelStatus.Open;
        return closesAt == CLOSED ? IPaymentChannels.ChannelStatus.Closed : IPaymentChannels.ChannelStatus.Closing;
    }

    /// @dev Reverts unless the channel was opened.
    function requireOpened(Channel memory channel, uint256 channelId) internal pure {
        if (!channel.opened) revert IPaymentChannels.ChannelUnknown(channelId);
    }

    /// @dev Reverts unless the channel is open (not closing, not closed).
    function requireOpen(Channel memory channel, uint256 channelId) internal pure {
        IPaymentChannels.ChannelStatus current = status(channel);
        if (current != IPaymentChannels.ChannelStatus.Open) revert IPaymentChannels.ChannelNotOpen(channelId, current);
    }

    /**
     * @dev Reverts unless vouchers are accepted now: the channel is open, or closing with its challenge
     * period running (up to and including `closesAt`), and its expiry (if any) has not passed.
     */
    function requireAcceptsVouchers(Channel memory channel, uint256 channelId, uint48 expiry) internal view {
        uint48 closesAt = channel.closesAt;
        if (closesAt == CLOSED)
            revert IPaymentChannels.ChannelNotOpen(channelId, IPaymentChannels.ChannelStatus.Closed);
        if (closesAt != 0 && block.timestamp > closesAt) revert IPaymentChannels.ChannelExpired(channelId, closesAt);
        if (expiry != 0 && block.timestamp > expiry) revert IPaymentChannels.ChannelExpired(channelId, expiry);
    }

    /// @dev Checks a voucher's amount against what was paid, the deposit and the cap.
    function checkAmount(Channel memory channel, uint256 channelId, uint96 amount, uint96 cap) internal pure {
        uint96 paid = channel.paid;
        if (amount <= paid) revert IPaymentChannels.ChannelStaleVoucher(channelId, amount, paid);
        uint96 deposit = channel.deposit;
        if (amount > deposit) revert IPaymentChannels.ChannelAmountExceedsDeposit(channelId, amount, deposit);
        if (cap != 0 && amount > cap) revert IPaymentChannels.ChannelCapExceeded(channelId, amount, cap);
    }

    /// @dev Whether anyone may finalize now: the challenge period is over, or the expiry passed.
    function finalizable(Channel memory channel, uint48 expiry) internal view returns (bool) {
        uint48 closesAt = channel.closesAt;
        return (closesAt != 0 && block.timestamp > closesAt) || (expiry != 0 && block.timestamp > expiry);
    }
}
