// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MockToken} from "./MockToken.sol";

/// @dev Test-only ERC-20 without EIP-3009 whose fallback accepts any call and does nothing (as WETH9's
/// deposit fallback does): `receiveWithAuthorization` "succeeds" without moving a token.
contract FallbackToken is MockToken {
    // solhint-disable-next-line no-empty-blocks
    fallback() external {}
}
