// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @dev Test-only ERC-20 with an ERC-777-style receive hook gone wrong: a transfer to `greedy` burns all the
/// gas it is given (a recipient griefing whoever pays it).
contract HookToken is ERC20 {
    address public greedy;

    constructor() ERC20("Hook Token", "HK") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setGreedy(address greedy_) external {
        greedy = greedy_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (to == greedy && from != address(0)) {
            // solhint-disable-next-line no-empty-blocks
            while (true) {}
        }
    }
}
