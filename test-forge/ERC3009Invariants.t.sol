// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DemoToken} from "../contracts/demo/DemoToken.sol";
import {Cheats, InvariantTest} from "./Base.sol";

/// @dev Drives DemoToken's EIP-3009 functions with authorizations of two payer keys, nonces from a small set
/// (so that they collide), random windows and submitters, tampered values, replays and cancels.
contract ERC3009Handler is Cheats {
    DemoToken public immutable token;
    bytes32 internal constant TRANSFER = keccak256(
        "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );
    bytes32 internal constant RECEIVE = keccak256(
        "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );
    bytes32 internal constant CANCEL = keccak256("CancelAuthorization(address authorizer,bytes32 nonce)");
    uint256 internal constant NONCES = 4;

    uint256[2] internal payerKeys = [uint256(0xA11), 0xA12];
    address[2] public payers;
    address[2] public payees = [address(0xBEE1), address(0xBEE2)];

    /// @dev Ghosts: how often each (payer, nonce) was used or canceled, and the value moved by authorizations.
    mapping(address => mapping(bytes32 => uint256)) public uses;
    uint256 public moved;
    uint256 public minted;
    uint256 public tamperedSuccesses;

    constructor(DemoToken token_) {
        token = token_;
        for (uint256 i = 0; i < 2; i++) {
            payers[i] = vm.addr(payerKeys[i]);
            token.mint(payers[i], 1_000_000e6);
            minted += 1_000_000e6;
        }
    }

    function nonceOf(uint256 seed) public pure returns (bytes32) {
        return keccak256(abi.encode("nonce", seed % NONCES));
    }

    function _authorization(
        uint256 payerSeed,
        uint256 payeeSeed,
        uint96 value,
        uint256 nonceSeed,
        bool receive_
    ) internal view returns (address from, address to, bytes32 nonce, bytes memory signature) {
        uint256 p = _pick(payerSeed, 2);
        from = payers[p];
        to = payees[_pick(payeeSeed, 2)];
        nonce = nonceOf(nonceSeed);
        bytes32 structHash = keccak256(
            abi.encode(
                receive_ ? RECEIVE : TRANSFER,
                from,
                to,
                uint256(value),
                uint256(0),
                block.timestamp + 1 hours,
                nonce
            )
        );
        signature = _sign(payerKeys[p], _digest("iotrail Demo USD", address(token), structHash));
    }

    function transfer(
        uint256 payerSeed,
        uint256 payeeSeed,
        uint96 value,
        uint256 nonceSeed,
        address submitter
    ) external {
        value = uint96(value % 1_000e6);
        (address from, address to, bytes32 nonce, bytes memory signature) = _authorization(
            payerSeed,
            payeeSeed,
            value,
            nonceSeed,
            false
        );
        vm.prank(submitter);
        try token.transferWithAuthorization(from, to, value, 0, block.timestamp + 1 hours, nonce, signature) {
            uses[from][nonce]++;
            moved += value;
        } catch {}
    }

    function receiveBy(uint256 payerSeed, uint256 payeeSeed, uint96 value, uint256 nonceSeed, bool asPayee) external {
        value = uint96(value % 1_000e6);
        (address from, address to, bytes32 nonce, bytes memory signature) = _authorization(
            payerSeed,
            payeeSeed,
            value,
            nonceSeed,
            true
        );
        vm.prank(asPayee ? to : address(0xBAD));
        try token.receiveWithAuthorization(from, to, value, 0, block.timestamp + 1 hours, nonce, signature) {
            uses[from][nonce]++;
            moved += value;
        } catch {}
    }

    /// @dev A signed authorization whose value is changed before submission: it must never pass.
    function tampered(uint256 payerSeed, uint256 payeeSeed, uint96 value, uint256 nonceSeed) external {
        value = uint96(value % 1_000e6);
        (address from, address to, bytes32 nonce, bytes memory signature) = _authorization(
            payerSeed,
            payeeSeed,
            value,
            nonceSeed,
            false
        );
        try
            token.transferWithAuthorization(
                from,
                to,
                uint256(value) + 1,
                0,
                block.timestamp + 1 hours,
                nonce,
                signature
            )
        {
            tamperedSuccesses++;
        } catch {}
    }

    function cancel(uint256 payerSeed, uint256 nonceSeed) external {
        uint256 p = _pick(payerSeed, 2);
        bytes32 nonce = nonceOf(nonceSeed);
        bytes32 structHash = keccak256(abi.encode(CANCEL, payers[p], nonce));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(
            payerKeys[p],
            _digest("iotrail Demo USD", address(token), structHash)
        );
        try token.cancelAuthorization(payers[p], nonce, v, r, s) {
            uses[payers[p]][nonce]++;
        } catch {}
    }

    function warp(uint32 seconds_) external {
        vm.warp(block.timestamp + (seconds_ % 2 hours));
    }
}

contract ERC3009InvariantsTest is InvariantTest {
    DemoToken internal token;
    ERC3009Handler internal handler;

    function setUp() public {
        token = new DemoToken();
        handler = new ERC3009Handler(token);
        bytes4[] memory selectors = new bytes4[](5);
        selectors[0] = ERC3009Handler.transfer.selector;
        selectors[1] = ERC3009Handler.receiveBy.selector;
        selectors[2] = ERC3009Handler.tampered.selector;
        selectors[3] = ERC3009Handler.cancel.selector;
        selectors[4] = ERC3009Handler.warp.selector;
        _target(address(handler), selectors);
    }

    /// @dev Each (authorizer, nonce) is used or canceled at most once, and the token says so.
    function invariant_eachNonceAtMostOnce() public view {
        for (uint256 p = 0; p < 2; p++) {
            address payer = handler.payers(p);
            for (uint256 n = 0; n < 4; n++) {
                bytes32 nonce = handler.nonceOf(n);
                uint256 used = handler.uses(payer, nonce);
                require(used <= 1, "a nonce was used twice");
                require(token.authorizationState(payer, nonce) == (used == 1), "authorizationState disagrees");
            }
        }
    }

    /// @dev Authorizations only move value from the payers to the payees; nothing is created or lost.
    function invariant_valueConserved() public view {
        uint256 payersHold = token.balanceOf(handler.payers(0)) + token.balanceOf(handler.payers(1));
        uint256 payeesHold = token.balanceOf(handler.payees(0)) + token.balanceOf(handler.payees(1));
        require(payeesHold == handler.moved(), "payees hold what was moved");
        require(payersHold + payeesHold == handler.minted(), "supply conserved");
        require(token.totalSupply() == handler.minted(), "no mint or burn");
    }

    /// @dev A signature never covers a value it was not made for.
    function invariant_noTamperedTransfer() public view {
        require(handler.tamperedSuccesses() == 0, "a tampered authorization passed");
    }
}
