// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IPullPayments} from "./IPullPayments.sol";

/**
 * @title PullPayments
 * @notice See {IPullPayments}: deposits in (`_pull`, fee-on-transfer aware), payouts out (`_payout`, push
 * with a credit fallback), and `withdraw` of credits. Reentrancy-guarded with transient storage.
 */
abstract contract PullPayments is IPullPayments, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev Gas forwarded with an ETH payout: enough for smart-contract wallets, too little to grief.
    uint256 internal constant PAYOUT_GAS = 30_000;
    /// @dev Gas forwarded with an ERC-20 payout: a standard transfer needs well under half of it; a token
    /// whose transfer calls back into the recipient (ERC-777-style hooks) cannot burn more, and a transfer
    /// that needs more is credited for `withdraw`, which forwards all gas.
    uint256 internal constant TOKEN_PAYOUT_GAS = 100_000;

    mapping(address account => mapping(address token => uint256 amount)) private _credits;

    /// @inheritdoc IPullPayments
    function withdraw(address token, address to) external nonReentrant {
        uint256 amount = _credits[msg.sender][token];
        if (amount == 0) revert PaymentsNothingToWithdraw(msg.sender, token);
        _credits[msg.sender][token] = 0;
        emit Withdrawn(msg.sender, token, to, amount);
        if (token == address(0)) {
            Address.sendValue(payable(to), amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }

    /// @inheritdoc IPullPayments
    function credited(address account, address token) external view returns (uint256) {
        return _credits[account][token];
    }

    /// @dev Transfers `amount` to `account`; if the transfer fails, credits it for `withdraw` instead.
    function _payout(address account, address token, uint256 amount) internal {
        if (amount == 0) return;
        bool sent;
        if (token == address(0)) {
            (sent, ) = account.call{value: amount, gas: PAYOUT_GAS}("");
        } else {
            sent = _tryTransfer(token, account, amount);
        }
        if (!sent) {
            _credits[account][token] += amount;
            emit PayoutCredited(account, token, amount);
        }
    }

    /// @dev `transfer` with at most TOKEN_PAYOUT_GAS: true if the call succeeded and returned nothing (from a
    /// contract) or true, as SafeERC20's trySafeTransfer decides. The callee's gas bound also bounds what it
    /// can return.
    function _tryTransfer(address token, address to, uint256 amount) private returns (bool) {
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory returned) = token.call{gas: TOKEN_PAYOUT_GAS}(
            abi.encodeCall(IERC20.transfer, (to, amount))
        );
        if (!ok) return false;
        if (returned.length == 0) return token.code.length > 0;
        return returned.length >= 32 && abi.decode(returned, (uint256)) == 1;
    }

    /// @dev Pulls `amount` of `token` from `from`; returns what arrived (fee-on-transfer tokens deliver less).
    function _pull(address token, address from, uint96 amount) internal returns (uint96) {
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(from, address(this), amount);
        return SafeCast.toUint96(IERC20(token).balanceOf(address(this)) - before);
    }
}
