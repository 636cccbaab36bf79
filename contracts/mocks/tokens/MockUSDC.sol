// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC3009} from "../../payments/ERC3009.sol";

/**
 * @dev Test-only USDC-style token: 6 decimals, EIP-2612 permit and EIP-3009 (the project's {ERC3009}) under
 * the token's own EIP-712 domain, with an open mint. Without USDC's proxy, blocklist and pause checks, it is
 * cheaper than USDC.
 */
contract MockUSDC is ERC20, ERC20Permit, ERC3009 {
    constructor() ERC20("Mock USD Coin", "USDC") ERC20Permit("Mock USD Coin") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
