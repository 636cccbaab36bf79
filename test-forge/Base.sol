// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @dev The Foundry cheatcodes these suites use (forge-std is not on the npm registry in a current version).
interface Vm {
    function warp(uint256 newTimestamp) external;
    function prank(address sender) external;
    function deal(address account, uint256 balance) external;
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function addr(uint256 privateKey) external pure returns (address);
}

/// @dev What handlers share: cheatcodes, signing, EIP-712 digests and the OpenZeppelin Merkle pair hash.
abstract contract Cheats {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    bytes32 private constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );

    function _digest(
        string memory name,
        address verifyingContract,
        bytes32 structHash
    ) internal view returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256(bytes(name)), keccak256("1"), block.chainid, verifyingContract)
        );
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }

    function _sign(uint256 privateKey, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(privateKey, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev OpenZeppelin's commutative pair hash: the root of a two-leaf tree.
    function _pair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    /// @dev A pseudo-random pick in [0, n) from a fuzzed seed.
    function _pick(uint256 seed, uint256 n) internal pure returns (uint256) {
        return seed % n;
    }
}

/// @dev Forge reads `targetContracts()` and `targetSelectors()` from an invariant test contract.
abstract contract InvariantTest is Cheats {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targets;
    FuzzSelector[] private _selectors;

    function targetContracts() public view returns (address[] memory) {
        return _targets;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _selectors;
    }

    function _target(address handler, bytes4[] memory selectors) internal {
        _targets.push(handler);
        _selectors.push(FuzzSelector(handler, selectors));
    }
}
