// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @dev Test-only ERC-20 that calls back into a target during transfers (a reentrancy attempt) and
/// records whether the callback succeeded.
contract ReentrantToken is ERC20 {
    address public victim;
    bytes public callback;
    bool public attempted;
    bool public reentered;
    bytes public reason;

    constructor() ERC20("Reentrant Token", "RE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address victim_, bytes calldata callback_) external {
        victim = victim_;
        callback = callback_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        address armed = victim;
        if (armed != address(0) && from != address(0)) {
            victim = address(0);
            attempted = true;
            // solhint-disable-next-line avoid-low-level-calls
            (reentered, reason) = armed.call(callback);
        }
    }
}
