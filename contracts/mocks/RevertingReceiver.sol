// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Test-only behaviour on purpose: string reverts, assembly and a looping receive.
// solhint-disable gas-custom-errors, no-inline-assembly, no-complex-fallback

/// @dev Test-only account that refuses ETH (or burns all gas with `burn`), and can call other contracts.
contract RevertingReceiver {
    bool public burn;

    function setBurn(bool value) external {
        burn = value;
    }

    function execute(address target, bytes calldata data) external payable returns (bytes memory) {
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory result) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
        return result;
    }

    receive() external payable {
        if (burn) {
            while (true) {} // solhint-disable-line no-empty-blocks
        }
        revert("no ETH");
    }
}
