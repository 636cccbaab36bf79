// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IDeviceRegistry} from "../contracts/registry/IDeviceRegistry.sol";
import {ITelemetryAnchor} from "../contracts/anchoring/ITelemetryAnchor.sol";
import {TelemetryAnchor} from "../contracts/anchoring/TelemetryAnchor.sol";
import {DeviceRegistryHarness} from "../contracts/mocks/DeviceRegistryHarness.sol";
import {Cheats, InvariantTest} from "./Base.sol";

/// @dev Drives the anchor (anchor, anchorMany, by anchorers and by strangers) over single-reading batches of
/// registered devices whose status the registry side changes at any time, with time travel.
contract AnchorHandler is Cheats {
    DeviceRegistryHarness public immutable registry;
    TelemetryAnchor public immutable anchor;
    uint256 internal constant DEVICES = 6;
    uint256 internal constant DEADLINE = 4_000_000_000;
    bytes32 internal constant READING_TYPEHASH = keccak256(
        "Reading(address device,uint64 sequence,uint64 timestamp,bytes32 metric,int256 value,bytes32 payloadHash)"
    );

    address public immutable owner = vm.addr(0x0FF1CE);
    address[2] public anchorers;
    address public stranger = vm.addr(0x5742);

    struct Anchored {
        bytes32 root;
        uint32 batchId;
        uint48 anchoredAt;
        uint16 registrySeq;
        address submitter;
    }

    struct Proven {
        uint32 batchId;
        ITelemetryAnchor.Reading reading;
        bytes signature;
        bool valid;
        bool activeWhenAnchored;
    }

    Anchored[] internal _anchored;
    Proven[] internal _proven;
    mapping(bytes32 root => bool) public used;
    uint64 internal _sequence;
    uint256 public strangerSuccesses;

    constructor() {
        registry = new DeviceRegistryHarness(address(this));
        anchor = new TelemetryAnchor(address(this), registry);
        anchorers = [vm.addr(0xA1), vm.addr(0xA2)];
        for (uint256 i = 0; i < 2; ++i) anchor.grantRole(anchor.ANCHORER_ROLE(), anchorers[i]);
        registry.grantRole(registry.MANUFACTURER_ROLE(), address(this));
        for (uint256 i = 0; i < DEVICES; ++i) {
            uint256 pk = 0x2000 + i;
            address key = vm.addr(pk);
            bytes32 structHash = keccak256(
                abi.encode(registry.typeHashes()[0], key, address(this), owner, uint256(0), DEADLINE)
            );
            registry.register(
                IDeviceRegistry.Registration(
                    key,
                    owner,
                    bytes32(0),
                    "",
                    DEADLINE,
                    _sign(pk, registry.hashTypedData(structHash))
                )
            );
        }
    }

    function anchoredCount() external view returns (uint256) {
        return _anchored.length;
    }

    function anchoredAt(uint256 i) external view returns (Anchored memory) {
        return _anchored[i];
    }

    function provenCount() external view returns (uint256) {
        return _proven.length;
    }

    function proven(uint256 i) external view returns (Proven memory) {
        return _proven[i];
    }

    function _reading(
        uint256 deviceSeed,
        int256 value
    ) internal returns (ITelemetryAnchor.Reading memory r, bytes memory signature) {
        uint256 pk = 0x2000 + (deviceSeed % DEVICES);
        r = ITelemetryAnchor.Reading(
            vm.addr(pk),
            ++_sequence,
            uint64(block.timestamp),
            bytes32("temperature.mC"),
            value,
            bytes32(0)
        );
        bytes32 structHash = keccak256(
            abi.encode(READING_TYPEHASH, r.device, r.sequence, r.timestamp, r.metric, r.value, r.payloadHash)
        );
        signature = _sign(pk, _digest("iotrail TelemetryAnchor", address(anchor), structHash));
    }

    function _leaf(ITelemetryAnchor.Reading memory r) internal pure returns (bytes32) {
        return
            keccak256(
                bytes.concat(keccak256(abi.encode(r.device, r.sequence, r.timestamp, r.metric, r.value, r.payloadHash)))
            );
    }

    function _input(bytes32 root) internal view returns (ITelemetryAnchor.BatchInput memory) {
        return
            ITelemetryAnchor.BatchInput(
                root,
                1,
                uint64(block.timestamp),
                uint64(block.timestamp),
                keccak256(abi.encode(root)),
                ""
            );
    }

    function _remember(bytes32 root, uint256 batchId, address submitter) internal {
        ITelemetryAnchor.Anchor memory record = anchor.getAnchor(root);
        _anchored.push(Anchored(root, uint32(batchId), record.anchoredAt, record.registrySeq, submitter));
        used[root] = true;
    }

    /// @dev Anchors a one-reading batch of a device and records whether the reading is provable now.
    function anchorReading(uint256 deviceSeed, int256 value, uint256 anchorerSeed) external {
        (ITelemetryAnchor.Reading memory r, bytes memory signature) = _reading(deviceSeed, value);
        bytes32 root = _leaf(r);
        address submitter = anchorers[_pick(anchorerSeed, 2)];
        vm.prank(submitter);
        try anchor.anchor(_input(root)) returns (uint256 batchId) {
            _remember(root, batchId, submitter);
            bool valid;
            try anchor.checkProvenReading(batchId, r, signature, new bytes32[](0)) {
                valid = true;
            } catch {}
            bool active = registry.getDevice(uint160(r.device)).status == IDeviceRegistry.DeviceStatus.Active;
            _proven.push(Proven(uint32(batchId), r, signature, valid, active));
        } catch {}
    }

    /// @dev Anchors several roots at once, some of them possibly anchored before (then all revert).
    function anchorMany(uint256 seed, uint8 count, bool reuse) external {
        count = 1 + (count % 4);
        ITelemetryAnchor.BatchInput[] memory batches = new ITelemetryAnchor.BatchInput[](count);
        for (uint256 i = 0; i < count; ++i) {
            bytes32 root = keccak256(abi.encode(seed, i, block.timestamp));
            if (reuse && i == 0 && _anchored.length > 0) root = _anchored[_pick(seed, _anchored.length)].root;
            batches[i] = _input(root);
        }
        address submitter = anchorers[_pick(seed >> 8, 2)];
        vm.prank(submitter);
        try anchor.anchorMany(batches) returns (uint256 first) {
            for (uint256 i = 0; i < count; ++i) _remember(batches[i].root, first + i, submitter);
        } catch {}
    }

    /// @dev A stranger tries to anchor: it must always fail.
    function strangerAnchors(bytes32 root) external {
        vm.prank(stranger);
        try anchor.anchor(_input(root)) {
            strangerSuccesses += 1;
        } catch {}
    }

    /// @dev The registry side: suspend, resume or revoke a device, at any time (also in the anchor's block).
    function setStatus(uint256 deviceSeed, uint8 op) external {
        uint256 deviceId = uint160(vm.addr(0x2000 + (deviceSeed % DEVICES)));
        vm.prank(owner);
        op = op % 3;
        if (op == 0) try registry.suspend(deviceId, 1) {} catch {}
        else if (op == 1) try registry.resume(deviceId) {} catch {}
        else try registry.revoke(deviceId, 2) {} catch {}
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + (seconds_ % 2 hours));
    }
}

contract AnchorInvariants is InvariantTest {
    AnchorHandler internal handler;
    TelemetryAnchor internal anchor;

    function setUp() public {
        vm.warp(1_800_000_000);
        handler = new AnchorHandler();
        anchor = handler.anchor();
        bytes4[] memory selectors = new bytes4[](5);
        selectors[0] = AnchorHandler.anchorReading.selector;
        selectors[1] = AnchorHandler.anchorMany.selector;
        selectors[2] = AnchorHandler.strangerAnchors.selector;
        selectors[3] = AnchorHandler.setStatus.selector;
        selectors[4] = AnchorHandler.warp.selector;
        _target(address(handler), selectors);
    }

    /// @dev A root is never overwritten: its record is what it was when anchored.
    function invariant_rootNeverOverwritten() external view {
        for (uint256 i = 0; i < handler.anchoredCount(); ++i) {
            AnchorHandler.Anchored memory a = handler.anchoredAt(i);
            ITelemetryAnchor.Anchor memory record = anchor.getAnchor(a.root);
            require(record.batchId == a.batchId, "a root's batch id changed");
            require(
                record.anchoredAt == a.anchoredAt && record.registrySeq == a.registrySeq,
                "a root's moment changed"
            );
            require(record.submitter == a.submitter, "a root's submitter changed");
        }
    }

    /// @dev The batch count equals the anchors that succeeded.
    function invariant_batchCountMatches() external view {
        require(anchor.batchCount() == handler.anchoredCount(), "batch count differs from the anchors");
    }

    /// @dev Batch ids are 1..count, each exactly once, in order of anchoring.
    function invariant_batchIdsSequential() external view {
        for (uint256 i = 0; i < handler.anchoredCount(); ++i) {
            require(handler.anchoredAt(i).batchId == i + 1, "batch ids are not sequential");
        }
    }

    /// @dev Only accounts with the anchorer role ever anchored.
    function invariant_onlyAnchorersAnchor() external view {
        require(handler.strangerSuccesses() == 0, "a stranger anchored");
        for (uint256 i = 0; i < handler.anchoredCount(); ++i) {
            address submitter = handler.anchoredAt(i).submitter;
            require(submitter == handler.anchorers(0) || submitter == handler.anchorers(1), "an unknown submitter");
        }
    }

    /// @dev No record is in the future, and the zero root was never anchored.
    function invariant_recordsInThePast() external view {
        require(anchor.getAnchor(bytes32(0)).batchId == 0, "the zero root is anchored");
        for (uint256 i = 0; i < handler.anchoredCount(); ++i) {
            require(handler.anchoredAt(i).anchoredAt <= block.timestamp, "anchored in the future");
        }
    }

    /// @dev The registry moment stored with a batch is never after the registry's moment now.
    function invariant_registryMomentNotAhead() external view {
        uint64 now_ = handler.registry().moment();
        for (uint256 i = 0; i < handler.anchoredCount(); ++i) {
            AnchorHandler.Anchored memory a = handler.anchoredAt(i);
            require((uint64(a.anchoredAt) << 16) | a.registrySeq <= now_, "a batch's moment is ahead of the registry");
        }
    }

    /// @dev Every anchored one-reading batch proves its reading (inclusion never changes).
    function invariant_inclusionStable() external view {
        for (uint256 i = 0; i < handler.provenCount(); ++i) {
            AnchorHandler.Proven memory p = handler.proven(i);
            require(
                anchor.verifyReading(p.batchId, p.reading, new bytes32[](0)),
                "an anchored reading is not included"
            );
            require(!anchor.verifyReading(p.batchId + 1000, p.reading, new bytes32[](0)), "included under another id");
        }
    }

    /// @dev Same block, same second: whether a reading is provable is decided at its anchoring moment and
    /// never changes afterwards, whatever the registry does later (also later in the same block).
    function invariant_provenReadingsNeverChange() external view {
        for (uint256 i = 0; i < handler.provenCount(); ++i) {
            AnchorHandler.Proven memory p = handler.proven(i);
            bool valid;
            try anchor.checkProvenReading(p.batchId, p.reading, p.signature, new bytes32[](0)) {
                valid = true;
            } catch {}
            require(valid == p.valid, "a proven reading's verdict changed");
        }
    }

    /// @dev A reading is provable exactly when its device was active at the moment its batch was anchored
    /// (a revocation earlier in the same block counts; one later in the block does not).
    function invariant_provableIffActiveWhenAnchored() external view {
        for (uint256 i = 0; i < handler.provenCount(); ++i) {
            AnchorHandler.Proven memory p = handler.proven(i);
            require(p.valid == p.activeWhenAnchored, "provable does not match the device's status at anchoring");
        }
    }

    /// @dev checkSignedReading (signature and inclusion) holds for every anchored reading, valid device or not.
    function invariant_signedReadingsHold() external view {
        for (uint256 i = 0; i < handler.provenCount(); ++i) {
            AnchorHandler.Proven memory p = handler.proven(i);
            uint64 moment = anchor.checkSignedReading(p.batchId, p.reading, p.signature, new bytes32[](0));
            ITelemetryAnchor.Anchor memory record = anchor.getAnchor(
                keccak256(
                    bytes.concat(
                        keccak256(
                            abi.encode(
                                p.reading.device,
                                p.reading.sequence,
                                p.reading.timestamp,
                                p.reading.metric,
                                p.reading.value,
                                p.reading.payloadHash
                            )
                        )
                    )
                )
            );
            require(moment == (uint64(record.anchoredAt) << 16) | record.registrySeq, "the returned moment differs");
        }
    }

    /// @dev The registry an anchor consults never changes.
    function invariant_registryFixed() external view {
        require(address(anchor.registry()) == address(handler.registry()), "the anchor's registry changed");
    }
}
