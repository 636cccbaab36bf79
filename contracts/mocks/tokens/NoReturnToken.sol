// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @dev Test-only token whose `transfer` returns nothing (as USDT's does): payouts must count it as success.
contract NoReturnToken {
    mapping(address account => uint256 balance) public balanceOf;

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    function transfer(address to, uint256 amount) external {
        balanceOf[msg.sender] -= amount;
        balanceOf[to] += amount;
    }

    function transferFrom(address from, address to, uint256 amount) external {
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
    }
}
