// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IDeviceRegistry} from "../contracts/registry/IDeviceRegistry.sol";
import {ITelemetryAnchor} from "../contracts/anchoring/ITelemetryAnchor.sol";
import {TelemetryAnchor} from "../contracts/anchoring/TelemetryAnchor.sol";
import {IConditionalEscrow} from "../contracts/payments/IConditionalEscrow.sol";
import {ConditionalEscrow} from "../contracts/payments/ConditionalEscrow.sol";
import {DeviceRegistryHarness} from "../contracts/mocks/DeviceRegistryHarness.sol";
import {RevertingReceiver} from "../contracts/mocks/RevertingReceiver.sol";
import {MockToken} from "../contracts/mocks/tokens/MockToken.sol";
import {Cheats, InvariantTest} from "./Base.sol";

/// @dev Drives every external function of ConditionalEscrow: ETH and ERC-20 escrows with and without arbiter
/// and reading condition, releases by payer, arbiter, relayed signature and proven reading (genuine and
/// out of range), refunds, withdrawals, time travel; and a payer who owns the condition's devices and
/// suspends, resumes or revokes them whenever it likes (finding M-2).
contract EscrowHandler is Cheats {
    DeviceRegistryHarness public immutable registry;
    TelemetryAnchor public immutable anchor;
    ConditionalEscrow public immutable escrow;
    MockToken public immutable token;
    RevertingReceiver public immutable refuser;
    uint256 internal constant DEADLINE = 4_000_000_000;
    uint256 internal constant DEVICES = 2;
    uint64 internal constant T0 = 1_800_000_000;
    bytes32 internal constant METRIC = bytes32("temperature.mC");
    bytes32 internal constant READING_TYPEHASH = keccak256(
        "Reading(address device,uint64 sequence,uint64 timestamp,bytes32 metric,int256 value,bytes32 payloadHash)"
    );
    bytes32 internal constant RELEASE = keccak256("ReleaseEscrow(uint256 escrowId,uint256 nonce,uint256 deadline)");

    uint256 internal constant PAYER_KEY = 0xBA1;
    address public immutable payer = vm.addr(PAYER_KEY);
    address public immutable payee = vm.addr(0xEE1);
    address public immutable arbiter = vm.addr(0xA4B);

    struct Ghost {
        uint256 id;
        address payer;
        IConditionalEscrow.EscrowParams params;
        uint8 payouts;
        uint48 releasedAt;
        uint48 refundedAt;
    }

    Ghost[] internal _ghosts;
    uint64 internal _sequence;
    uint256 public vetoed;
    uint256 public badReleases;
    uint256 public createdWithInvalidDevice;

    constructor() {
        registry = new DeviceRegistryHarness(address(this));
        anchor = new TelemetryAnchor(address(this), registry);
        anchor.grantRole(anchor.ANCHORER_ROLE(), address(this));
        escrow = new ConditionalEscrow(anchor);
        token = new MockToken();
        refuser = new RevertingReceiver();
        registry.grantRole(registry.MANUFACTURER_ROLE(), address(this));
        for (uint256 i = 0; i < DEVICES; ++i) {
            uint256 pk = 0x4000 + i;
            address key = vm.addr(pk);
            // The payer owns the condition's devices: it can suspend, resume and revoke them.
            bytes32 structHash = keccak256(
                abi.encode(registry.typeHashes()[0], key, address(this), payer, uint256(0), DEADLINE)
            );
            registry.register(
                IDeviceRegistry.Registration(
                    key,
                    payer,
                    bytes32(0),
                    "",
                    DEADLINE,
                    _sign(pk, registry.hashTypedData(structHash))
                )
            );
        }
        vm.deal(payer, 1_000 ether);
        vm.deal(address(refuser), 1_000 ether);
        token.mint(payer, 1_000_000 ether);
        vm.prank(payer);
        token.approve(address(escrow), type(uint256).max);
    }

    function count() external view returns (uint256) {
        return _ghosts.length;
    }

    function ghost(uint256 i) external view returns (Ghost memory) {
        return _ghosts[i];
    }

    function conditionOf(uint256 deviceSeed) public pure returns (IConditionalEscrow.Condition memory) {
        return
            IConditionalEscrow.Condition(
                vm.addr(0x4000 + (deviceSeed % DEVICES)),
                METRIC,
                2_000,
                8_000,
                T0,
                T0 + 30 days
            );
    }

    function _noCondition() internal pure returns (IConditionalEscrow.Condition memory) {
        return IConditionalEscrow.Condition(address(0), bytes32(0), 0, 0, 0, 0);
    }

    // ------------------------------------------------------------------ actions

    function create(uint256 seed, uint96 amount, bool erc20, bool withCondition, bool withArbiter) external {
        amount = uint96(1 + (amount % 5 ether));
        IConditionalEscrow.EscrowParams memory params = IConditionalEscrow.EscrowParams(
            seed % 2 == 0 ? payee : address(refuser),
            erc20 ? address(token) : address(0),
            amount,
            uint48(block.timestamp + 1 + ((seed >> 8) % 2 days)),
            withArbiter ? arbiter : address(0),
            withCondition ? conditionOf(seed >> 16) : _noCondition()
        );
        bool deviceValid = !withCondition || registry.validAt(params.condition.device, uint48(block.timestamp));
        vm.prank(payer);
        try escrow.create{value: erc20 ? 0 : amount}(params) returns (uint256 id) {
            if (!deviceValid) createdWithInvalidDevice += 1;
            _ghosts.push(Ghost(id, payer, params, 0, 0, 0));
        } catch {}
    }

    function _paid(uint256 i, bool released) internal {
        Ghost storage g = _ghosts[i];
        g.payouts += 1;
        if (released) g.releasedAt = uint48(block.timestamp);
        else g.refundedAt = uint48(block.timestamp);
    }

    function release(uint256 escrowSeed, bool byArbiter) external {
        if (_ghosts.length == 0) return;
        uint256 i = _pick(escrowSeed, _ghosts.length);
        vm.prank(byArbiter ? arbiter : _ghosts[i].payer);
        try escrow.release(_ghosts[i].id) {
            _paid(i, true);
        } catch {}
    }

    function releaseBySig(uint256 escrowSeed) external {
        if (_ghosts.length == 0) return;
        uint256 i = _pick(escrowSeed, _ghosts.length);
        uint256 id = _ghosts[i].id;
        bytes32 structHash = keccak256(abi.encode(RELEASE, id, escrow.nonces(payer), DEADLINE));
        try
            escrow.releaseBySig(
                id,
                DEADLINE,
                _sign(PAYER_KEY, _digest("iotrail ConditionalEscrow", address(escrow), structHash))
            )
        {
            _paid(i, true);
        } catch {}
    }

    /// @dev A device reading, signed and anchored alone; returns what releaseByReading takes.
    function _anchored(
        address device,
        int256 value,
        uint64 timestamp
    ) internal returns (uint256 batchId, ITelemetryAnchor.Reading memory r, bytes memory signature) {
        uint256 pk = 0x4000;
        for (uint256 d = 0; d < DEVICES; ++d) if (vm.addr(0x4000 + d) == device) pk = 0x4000 + d;
        r = ITelemetryAnchor.Reading(device, ++_sequence, timestamp, METRIC, value, bytes32(0));
        bytes32 structHash = keccak256(
            abi.encode(READING_TYPEHASH, r.device, r.sequence, r.timestamp, r.metric, r.value, r.payloadHash)
        );
        signature = _sign(pk, _digest("iotrail TelemetryAnchor", address(anchor), structHash));
        bytes32 leaf = keccak256(
            bytes.concat(keccak256(abi.encode(r.device, r.sequence, r.timestamp, r.metric, r.value, r.payloadHash)))
        );
        batchId = anchor.anchor(ITelemetryAnchor.BatchInput(leaf, 1, timestamp, timestamp, bytes32(0), ""));
    }

    /// @dev A genuine, anchored, in-window, in-range reading must release an active escrow before its deadline.
    function releaseGood(uint256 escrowSeed, int256 value, uint64 offset) external {
        if (_ghosts.length == 0) return;
        uint256 i = _pick(escrowSeed, _ghosts.length);
        Ghost storage g = _ghosts[i];
        if (g.params.condition.device == address(0)) return;
        value = 2_000 + int256(uint256(value) % 6_001);
        (uint256 batchId, ITelemetryAnchor.Reading memory r, bytes memory signature) = _anchored(
            g.params.condition.device,
            value,
            T0 + (offset % 30 days)
        );
        bool mustRelease =
            escrow.getEscrow(g.id).status == IConditionalEscrow.EscrowStatus.Active &&
                block.timestamp <= g.params.deadline;
        try escrow.releaseByReading(g.id, g.params.condition, batchId, r, signature, new bytes32[](0)) {
            _paid(i, true);
        } catch {
            if (mustRelease) vetoed += 1;
        }
    }

    /// @dev A reading out of the condition's range (or window) must never release.
    function releaseBad(uint256 escrowSeed, int256 excess, bool outOfWindow) external {
        if (_ghosts.length == 0) return;
        uint256 i = _pick(escrowSeed, _ghosts.length);
        Ghost storage g = _ghosts[i];
        if (g.params.condition.device == address(0)) return;
        int256 value = outOfWindow ? int256(5_000) : 8_001 + int256(uint256(excess) % 1_000);
        uint64 timestamp = outOfWindow ? T0 + 31 days : T0;
        (uint256 batchId, ITelemetryAnchor.Reading memory r, bytes memory signature) = _anchored(
            g.params.condition.device,
            value,
            timestamp
        );
        try escrow.releaseByReading(g.id, g.params.condition, batchId, r, signature, new bytes32[](0)) {
            badReleases += 1;
            _paid(i, true);
        } catch {}
    }

    /// @dev The payer, who owns the devices, suspends, resumes or revokes one at any time.
    function payerVeto(uint256 deviceSeed, uint8 op) external {
        uint256 deviceId = uint160(vm.addr(0x4000 + (deviceSeed % DEVICES)));
        vm.prank(payer);
        op = op % 3;
        if (op == 0) try registry.suspend(deviceId, 1) {} catch {}
        else if (op == 1) try registry.resume(deviceId) {} catch {}
        else try registry.revoke(deviceId, 1) {} catch {}
    }

    function refund(uint256 escrowSeed) external {
        if (_ghosts.length == 0) return;
        uint256 i = _pick(escrowSeed, _ghosts.length);
        try escrow.refund(_ghosts[i].id) {
            _paid(i, false);
        } catch {}
    }

    function withdraw(bool erc20) external {
        vm.prank(address(refuser));
        try escrow.withdraw(erc20 ? address(token) : address(0), vm.addr(0xD0)) {} catch {}
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + (seconds_ % 12 hours));
    }
}

contract EscrowInvariants is InvariantTest {
    EscrowHandler internal handler;
    ConditionalEscrow internal escrow;

    function setUp() public {
        vm.warp(1_800_000_000);
        handler = new EscrowHandler();
        escrow = handler.escrow();
        bytes4[] memory selectors = new bytes4[](10);
        selectors[0] = EscrowHandler.create.selector;
        selectors[1] = EscrowHandler.release.selector;
        selectors[2] = EscrowHandler.releaseBySig.selector;
        selectors[3] = EscrowHandler.releaseGood.selector;
        selectors[4] = EscrowHandler.releaseBad.selector;
        selectors[5] = EscrowHandler.payerVeto.selector;
        selectors[6] = EscrowHandler.refund.selector;
        selectors[7] = EscrowHandler.withdraw.selector;
        selectors[8] = EscrowHandler.warp.selector;
        selectors[9] = EscrowHandler.create.selector;
        _target(address(handler), selectors);
    }

    function _held(address token) internal view returns (uint256 total) {
        for (uint256 i = 0; i < handler.count(); ++i) {
            EscrowHandler.Ghost memory g = handler.ghost(i);
            if (g.params.token == token && g.payouts == 0) total += g.params.amount;
        }
        total += escrow.credited(address(handler.refuser()), token);
    }

    /// @dev ETH held = active ETH escrows + ETH credits.
    function invariant_ethBalanceAccounted() external view {
        require(address(escrow).balance == _held(address(0)), "ETH balance off");
    }

    /// @dev Tokens held = active token escrows + token credits.
    function invariant_tokenBalanceAccounted() external view {
        require(handler.token().balanceOf(address(escrow)) == _held(address(handler.token())), "token balance off");
    }

    /// @dev Every escrow pays out at most once, and has paid out exactly when it is no longer Active.
    function invariant_paysOutExactlyOnce() external view {
        for (uint256 i = 0; i < handler.count(); ++i) {
            EscrowHandler.Ghost memory g = handler.ghost(i);
            require(g.payouts <= 1, "an escrow paid out twice");
            bool active = escrow.getEscrow(g.id).status == IConditionalEscrow.EscrowStatus.Active;
            require(active == (g.payouts == 0), "status and payouts disagree");
        }
    }

    /// @dev Released and Refunded are terminal and match how the escrow ended.
    function invariant_endsAreTerminal() external view {
        for (uint256 i = 0; i < handler.count(); ++i) {
            EscrowHandler.Ghost memory g = handler.ghost(i);
            IConditionalEscrow.EscrowStatus status = escrow.getEscrow(g.id).status;
            if (g.releasedAt != 0) require(status == IConditionalEscrow.EscrowStatus.Released, "a release undone");
            if (g.refundedAt != 0) require(status == IConditionalEscrow.EscrowStatus.Refunded, "a refund undone");
        }
    }

    /// @dev Escrow ids are sequential: the count equals the creations.
    function invariant_escrowCountMatches() external view {
        require(escrow.escrowCount() == handler.count(), "escrow count differs");
    }

    /// @dev An escrow's terms never change.
    function invariant_termsFixed() external view {
        for (uint256 i = 0; i < handler.count(); ++i) {
            EscrowHandler.Ghost memory g = handler.ghost(i);
            IConditionalEscrow.EscrowInfo memory info = escrow.getEscrow(g.id);
            require(info.payer == g.payer && info.payee == g.params.payee, "parties changed");
            require(info.amount == g.params.amount && info.deadline == g.params.deadline, "amount or deadline changed");
            bytes32 expected =
                g.params.condition.device == address(0) ? bytes32(0) : keccak256(abi.encode(g.params.condition));
            require(info.conditionHash == expected, "condition changed");
        }
    }

    /// @dev Releases happen up to the deadline; refunds only after it.
    function invariant_deadlinesKept() external view {
        for (uint256 i = 0; i < handler.count(); ++i) {
            EscrowHandler.Ghost memory g = handler.ghost(i);
            if (g.releasedAt != 0) require(g.releasedAt <= g.params.deadline, "released after the deadline");
            if (g.refundedAt != 0) require(g.refundedAt > g.params.deadline, "refunded before the deadline");
        }
    }

    /// @dev M-2: nothing the payer does to devices it owns makes a genuine reading fail to release.
    function invariant_payerCannotVeto() external view {
        require(handler.vetoed() == 0, "a genuine, anchored, in-window reading did not release");
    }

    /// @dev A reading outside the condition's range or window never releases.
    function invariant_badReadingsNeverRelease() external view {
        require(handler.badReleases() == 0, "a reading outside the condition released");
    }

    /// @dev A reading condition is only accepted for a device that is an active device key at creation.
    function invariant_conditionDeviceValidAtCreation() external view {
        require(handler.createdWithInvalidDevice() == 0, "an escrow trusts a device that was not valid");
    }
}
