// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Test-only behaviour on purpose: string reverts, assembly and a looping receive.
// solhint-disable gas-custom-errors, no-inline-assembly, no-complex-fallback

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @dev Test-only ERC-20 with a blocklist, like USDC: transfers to a blocked account revert, or with
/// `returnFalse` return false instead (like tokens that do not revert on failure).
contract BlocklistToken is ERC20 {
    mapping(address account => bool blocked) public blocked;
    bool public returnFalse;

    constructor(bool returnFalse_) ERC20("Blocklist Token", "BLK") {
        returnFalse = returnFalse_;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setBlocked(address account, bool value) external {
        blocked[account] = value;
    }

    function transfer(address to, uint256 value) public override returns (bool) {
        if (blocked[to]) {
            if (returnFalse) return false;
            revert("blocked");
        }
        return super.transfer(to, value);
    }
}
