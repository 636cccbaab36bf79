// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @dev Test-only ERC-20 that calls back into a target during transfers (a reentrancy attempt) and
/// records whether the callback succeeded and the selector of its revert reason. The record shares one slot
/// with the target, so that the hook fits the gas that payouts forward to token transfers.
contract ReentrantToken is ERC20 {
    address public victim;
    bool public attempted;
    bool public reentered;
    bytes4 private _reason;
    bytes public callback;

    constructor() ERC20("Reentrant Token", "RE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address victim_, bytes calldata callback_) external {
        victim = victim_;
        callback = callback_;
    }

    /// @dev The revert reason of the last callback (its selector: a custom error carries no arguments here).
    function reason() external view returns (bytes memory) {
        return abi.encodePacked(_reason);
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        address armed = victim;
        if (armed != address(0) && from != address(0)) {
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, bytes memory returned) = armed.call(callback);
            victim = address(0);
            attempted = true;
            reentered = ok;
            _reason = bytes4(returned);
        }
    }
}
