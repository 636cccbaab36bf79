// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC3009} from "../payments/ERC3009.sol";

/**
 * @title DemoToken
 * @notice A USDC-like ERC-20 (6 decimals) with EIP-2612 permit, EIP-3009 transfers with authorization (so
 * that a stock x402 `exact` client can pay in it) and an open faucet, deployed by `iotrail deploy` on
 * development chains only, so that channels, escrows and data sales can be tried in a token.
 * It has no value: anyone can mint up to {MAX_MINT} per call. Its EIP-712 domain is
 * ("iotrail Demo USD", "1"), the `extra.name` and `extra.version` an x402 `exact` offer names.
 */
contract DemoToken is ERC20, ERC20Permit, ERC3009 {
    /// @notice The most one `mint` call creates: one million tokens.
    uint256 public constant MAX_MINT = 1_000_000e6;

    /// @notice A faucet request above {MAX_MINT}.
    error DemoTokenMintTooLarge(uint256 amount, uint256 max);

    constructor() ERC20("iotrail Demo USD", "dUSD") ERC20Permit("iotrail Demo USD") {}

    /**
     * @notice Mints `amount` base units to `to` (the faucet).
     * @param to The receiver.
     * @param amount Base units (6 decimals), at most {MAX_MINT}.
     */
    function mint(address to, uint256 amount) external {
        if (amount > MAX_MINT) revert DemoTokenMintTooLarge(amount, MAX_MINT);
        _mint(to, amount);
    }

    /// @inheritdoc ERC20
    function decimals() public pure override returns (uint8) {
        return 6;
    }
}
