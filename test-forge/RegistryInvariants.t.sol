// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IDeviceRegistry} from "../contracts/registry/IDeviceRegistry.sol";
import {DeviceRegistryHarness} from "../contracts/mocks/DeviceRegistryHarness.sol";
import {Cheats, InvariantTest} from "./Base.sol";

/// @dev Drives every external function of the registry with two manufacturers, three owners (direct and
/// relayed by signature), a pool of device keys, two-entry lots, and time travel; keeps ghost state.
contract RegistryHandler is Cheats {
    DeviceRegistryHarness public immutable registry;
    uint256 internal constant KEY_POOL = 16;
    uint256 internal constant DEADLINE = 4_000_000_000;
    uint256 internal constant MAX_SAMPLES = 400;

    uint256[3] internal ownerKeys = [uint256(0xA11CE), 0xB0B, 0xCA401];
    address[3] public owners;
    address[2] public manufacturers;

    struct Lot {
        uint256 id;
        address manufacturer;
        address a;
        address b;
        bytes32 root;
    }

    struct Sample {
        address key;
        uint48 at;
        bool valid;
    }

    struct LotSample {
        uint256 lot;
        bool first;
        uint48 at;
        bool valid;
    }

    Lot[] public lots;
    Sample[] internal _samples;
    LotSample[] internal _lotSamples;
    uint256[] public devices;
    mapping(uint256 deviceId => bool) public known;
    mapping(address key => bool) public proven;
    mapping(address key => uint256 deviceId) public ghostDeviceOf;
    mapping(uint256 deviceId => bool) public revokedSeen;
    mapping(uint256 deviceId => address key) public keyAtRevocation;
    mapping(uint256 deviceId => uint48 at) public registeredAt;
    mapping(uint256 lotId => uint8 status) public lotStatusSeen;

    constructor() {
        registry = new DeviceRegistryHarness(address(this));
        for (uint256 i = 0; i < 3; ++i) owners[i] = vm.addr(ownerKeys[i]);
        manufacturers = [vm.addr(0x4D31), vm.addr(0x4D32)];
        for (uint256 i = 0; i < 2; ++i) registry.grantRole(registry.MANUFACTURER_ROLE(), manufacturers[i]);
    }

    // ------------------------------------------------------------------ helpers

    function keyOf(uint256 seed) public pure returns (uint256 pk, address key) {
        pk = 0x1000 + (seed % KEY_POOL);
        key = vm.addr(pk);
    }

    function metadataOf(address key) public pure returns (bytes32) {
        return keccak256(abi.encode("device", key));
    }

    function sampleCount() external view returns (uint256, uint256) {
        return (_samples.length, _lotSamples.length);
    }

    function sample(uint256 i) external view returns (Sample memory) {
        return _samples[i];
    }

    function lotSample(uint256 i) external view returns (LotSample memory) {
        return _lotSamples[i];
    }

    function deviceCount() external view returns (uint256) {
        return devices.length;
    }

    function lotCount() external view returns (uint256) {
        return lots.length;
    }

    function lotProof(uint256 i, bool first) public view returns (address key, bytes32[] memory proof) {
        Lot memory lot = lots[i];
        key = first ? lot.a : lot.b;
        proof = new bytes32[](1);
        proof[0] = registry.lotLeaf(first ? lot.b : lot.a, metadataOf(first ? lot.b : lot.a));
    }

    function _possession(uint256 pk, bytes32 structHash) internal view returns (bytes memory) {
        return _sign(pk, registry.hashTypedData(structHash));
    }

    function _ownerKeyOf(address owner) internal view returns (uint256) {
        for (uint256 i = 0; i < 3; ++i) if (owners[i] == owner) return ownerKeys[i];
        return 0;
    }

    function _record(uint256 deviceId, address key) internal {
        proven[key] = true;
        ghostDeviceOf[key] = deviceId;
        if (!known[deviceId]) {
            known[deviceId] = true;
            devices.push(deviceId);
            registeredAt[deviceId] = uint48(block.timestamp);
        }
    }

    /// @dev Samples answers about the second before this block; the invariants check they never change.
    function _sample(uint256 seed) internal {
        if (block.timestamp < 2) return;
        uint48 past = uint48(block.timestamp - 1);
        if (_samples.length < MAX_SAMPLES) {
            (, address key) = keyOf(seed);
            _samples.push(Sample(key, past, registry.validAt(key, past)));
        }
        if (_lotSamples.length < MAX_SAMPLES && lots.length > 0) {
            uint256 i = _pick(seed >> 8, lots.length);
            bool first = (seed >> 16) % 2 == 0;
            (address key, bytes32[] memory proof) = lotProof(i, first);
            bool valid = registry.lotEntryValidAt(lots[i].id, key, metadataOf(key), proof, past);
            _lotSamples.push(LotSample(i, first, past, valid));
        }
    }

    // ------------------------------------------------------------------ actions

    function register(uint256 keySeed, uint256 ownerSeed, uint256 manufacturerSeed) external {
        (uint256 pk, address key) = keyOf(keySeed);
        address owner = owners[_pick(ownerSeed, 3)];
        address manufacturer = manufacturers[_pick(manufacturerSeed, 2)];
        bytes32 structHash = keccak256(
            abi.encode(registry.typeHashes()[0], key, manufacturer, owner, registry.nonces(key), DEADLINE)
        );
        IDeviceRegistry.Registration memory r = IDeviceRegistry.Registration(
            key,
            owner,
            metadataOf(key),
            "",
            DEADLINE,
            _possession(pk, structHash)
        );
        vm.prank(manufacturer);
        try registry.register(r) returns (uint256 deviceId) {
            _record(deviceId, key);
        } catch {}
        _sample(keySeed);
    }

    function registerBatch(uint256 seedA, uint256 seedB, uint256 ownerSeed) external {
        IDeviceRegistry.Registration[] memory batch = new IDeviceRegistry.Registration[](2);
        address owner = owners[_pick(ownerSeed, 3)];
        address manufacturer = manufacturers[0];
        uint256[2] memory seeds = [seedA, seedB];
        for (uint256 i = 0; i < 2; ++i) {
            (uint256 pk, address key) = keyOf(seeds[i]);
            bytes32 structHash = keccak256(
                abi.encode(registry.typeHashes()[0], key, manufacturer, owner, registry.nonces(key), DEADLINE)
            );
            batch[i] = IDeviceRegistry.Registration(key, owner, bytes32(0), "", DEADLINE, _possession(pk, structHash));
        }
        vm.prank(manufacturer);
        try registry.registerBatch(batch) {
            for (uint256 i = 0; i < 2; ++i) _record(uint160(batch[i].key), batch[i].key);
        } catch {}
        _sample(seedA);
    }

    function commitLot(uint256 seedA, uint256 seedB, uint256 manufacturerSeed, uint256 ownerSeed) external {
        (, address a) = keyOf(seedA);
        (, address b) = keyOf(seedB);
        if (a == b) return;
        address manufacturer = manufacturers[_pick(manufacturerSeed, 2)];
        bytes32 root = _pair(registry.lotLeaf(a, metadataOf(a)), registry.lotLeaf(b, metadataOf(b)));
        vm.prank(manufacturer);
        uint256 lotId = registry.commitLot(root, owners[_pick(ownerSeed, 3)], 2, "");
        lots.push(Lot(lotId, manufacturer, a, b, root));
        lotStatusSeen[lotId] = uint8(IDeviceRegistry.LotStatus.Active);
        _sample(seedA);
    }

    function claim(uint256 lotSeed, bool first) external {
        if (lots.length == 0) return;
        uint256 i = _pick(lotSeed, lots.length);
        (address key, bytes32[] memory proof) = lotProof(i, first);
        uint256 pk = 0;
        for (uint256 s = 0; s < KEY_POOL; ++s) {
            (uint256 candidate, address k) = keyOf(s);
            if (k == key) pk = candidate;
        }
        uint256 lotId = lots[i].id;
        bytes32 structHash = keccak256(
            abi.encode(registry.typeHashes()[1], key, lotId, registry.nonces(key), DEADLINE)
        );
        IDeviceRegistry.KeyProof memory keyProof = IDeviceRegistry.KeyProof(key, DEADLINE, _possession(pk, structHash));
        try registry.claim(lotId, metadataOf(key), proof, keyProof) returns (uint256 deviceId) {
            _record(deviceId, key);
        } catch {}
        _sample(lotSeed);
    }

    function revokeLotDevice(uint256 lotSeed, bool first, bool byManufacturer, uint16 reason) external {
        if (lots.length == 0) return;
        uint256 i = _pick(lotSeed, lots.length);
        (address key, bytes32[] memory proof) = lotProof(i, first);
        IDeviceRegistry.LotInfo memory info = registry.getLot(lots[i].id);
        vm.prank(byManufacturer ? info.manufacturer : info.owner);
        try registry.revokeLotDevice(lots[i].id, key, metadataOf(key), proof, reason) {} catch {}
        _sample(lotSeed);
    }

    function endLot(uint256 lotSeed, bool revoke, uint16 reason) external {
        if (lots.length == 0) return;
        uint256 i = _pick(lotSeed, lots.length);
        uint256 lotId = lots[i].id;
        vm.prank(lots[i].manufacturer);
        if (revoke) {
            try registry.revokeLot(lotId, reason) {
                lotStatusSeen[lotId] = uint8(IDeviceRegistry.LotStatus.Revoked);
            } catch {}
        } else {
            try registry.closeLot(lotId) {
                lotStatusSeen[lotId] = uint8(IDeviceRegistry.LotStatus.Closed);
            } catch {}
        }
        _sample(lotSeed);
    }

    function setStatus(uint256 deviceSeed, uint8 op, bool bySig, uint16 reason) external {
        if (devices.length == 0) return;
        uint256 deviceId = devices[_pick(deviceSeed, devices.length)];
        address owner = registry.getDevice(deviceId).owner;
        op = op % 3;
        if (bySig) {
            uint256 nonce = registry.nonces(owner);
            bytes32 structHash =
                op == 0
                    ? keccak256(abi.encode(registry.typeHashes()[5], deviceId, reason, nonce, DEADLINE))
                    : op == 1
                        ? keccak256(abi.encode(registry.typeHashes()[6], deviceId, nonce, DEADLINE))
                        : keccak256(abi.encode(registry.typeHashes()[7], deviceId, reason, nonce, DEADLINE));
            bytes memory signature = _sign(_ownerKeyOf(owner), registry.hashTypedData(structHash));
            if (op == 0) try registry.suspendBySig(deviceId, reason, DEADLINE, signature) {} catch {}
            else if (op == 1) try registry.resumeBySig(deviceId, DEADLINE, signature) {} catch {}
            else try registry.revokeBySig(deviceId, reason, DEADLINE, signature) {} catch {}
        } else {
            vm.prank(owner);
            if (op == 0) try registry.suspend(deviceId, reason) {} catch {}
            else if (op == 1) try registry.resume(deviceId) {} catch {}
            else try registry.revoke(deviceId, reason) {} catch {}
        }
        if (registry.getDevice(deviceId).status == IDeviceRegistry.DeviceStatus.Revoked && !revokedSeen[deviceId]) {
            revokedSeen[deviceId] = true;
            keyAtRevocation[deviceId] = registry.getDevice(deviceId).currentKey;
        }
        _sample(deviceSeed);
    }

    function rotate(uint256 deviceSeed, uint256 keySeed, bool bySig) external {
        if (devices.length == 0) return;
        uint256 deviceId = devices[_pick(deviceSeed, devices.length)];
        (uint256 pk, address key) = keyOf(keySeed);
        bytes32 acceptHash = keccak256(
            abi.encode(registry.typeHashes()[2], key, deviceId, registry.nonces(key), DEADLINE)
        );
        IDeviceRegistry.KeyProof memory newKey = IDeviceRegistry.KeyProof(key, DEADLINE, _possession(pk, acceptHash));
        address owner = registry.getDevice(deviceId).owner;
        if (bySig) {
            bytes32 structHash = keccak256(
                abi.encode(registry.typeHashes()[8], deviceId, key, registry.nonces(owner), DEADLINE)
            );
            bytes memory signature = _sign(_ownerKeyOf(owner), registry.hashTypedData(structHash));
            try registry.rotateKeyBySig(deviceId, newKey, DEADLINE, signature) {
                proven[key] = true;
                ghostDeviceOf[key] = deviceId;
            } catch {}
        } else {
            vm.prank(owner);
            try registry.rotateKey(deviceId, newKey) {
                proven[key] = true;
                ghostDeviceOf[key] = deviceId;
            } catch {}
        }
        _sample(keySeed);
    }

    function transfer(uint256 deviceSeed, uint256 toSeed, bool bySig) external {
        if (devices.length == 0) return;
        uint256 deviceId = devices[_pick(deviceSeed, devices.length)];
        address owner = registry.getDevice(deviceId).owner;
        address to = owners[_pick(toSeed, 3)];
        if (bySig) {
            bytes32 start = keccak256(
                abi.encode(registry.typeHashes()[3], deviceId, to, registry.nonces(owner), DEADLINE)
            );
            try
                registry.startTransferBySig(
                    deviceId,
                    to,
                    DEADLINE,
                    _sign(_ownerKeyOf(owner), registry.hashTypedData(start))
                )
            {} catch {}
            bytes32 accept = keccak256(abi.encode(registry.typeHashes()[4], deviceId, registry.nonces(to), DEADLINE));
            try
                registry.acceptTransferBySig(deviceId, DEADLINE, _sign(_ownerKeyOf(to), registry.hashTypedData(accept)))
            {} catch {}
        } else {
            vm.prank(owner);
            try registry.startTransfer(deviceId, to) {} catch {}
            vm.prank(to);
            try registry.acceptTransfer(deviceId) {} catch {}
        }
        _sample(deviceSeed);
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + (seconds_ % 3 days));
        _sample(seconds_);
    }
}

contract RegistryInvariants is InvariantTest {
    RegistryHandler internal handler;
    DeviceRegistryHarness internal registry;

    function setUp() public {
        vm.warp(1_800_000_000);
        handler = new RegistryHandler();
        registry = handler.registry();
        bytes4[] memory selectors = new bytes4[](11);
        selectors[0] = RegistryHandler.register.selector;
        selectors[1] = RegistryHandler.registerBatch.selector;
        selectors[2] = RegistryHandler.commitLot.selector;
        selectors[3] = RegistryHandler.claim.selector;
        selectors[4] = RegistryHandler.revokeLotDevice.selector;
        selectors[5] = RegistryHandler.endLot.selector;
        selectors[6] = RegistryHandler.setStatus.selector;
        selectors[7] = RegistryHandler.rotate.selector;
        selectors[8] = RegistryHandler.transfer.selector;
        selectors[9] = RegistryHandler.warp.selector;
        selectors[10] = RegistryHandler.register.selector;
        _target(address(handler), selectors);
    }

    /// @dev M-1: `validAt(K, t)` for a time before the current block never changes, whatever happens later.
    function invariant_pastValidityNeverChanges() external view {
        (uint256 count, ) = handler.sampleCount();
        for (uint256 i = 0; i < count; ++i) {
            RegistryHandler.Sample memory s = handler.sample(i);
            require(registry.validAt(s.key, s.at) == s.valid, "validAt about the past changed");
        }
    }

    /// @dev M-1: `lotEntryValidAt(L, K, t)` for a time before the current block never changes either.
    function invariant_pastLotAnswersNeverChange() external view {
        (, uint256 count) = handler.sampleCount();
        for (uint256 i = 0; i < count; ++i) {
            RegistryHandler.LotSample memory s = handler.lotSample(i);
            (uint256 lotId, , , , ) = handler.lots(s.lot);
            (address key, bytes32[] memory proof) = handler.lotProof(s.lot, s.first);
            bool valid = registry.lotEntryValidAt(lotId, key, handler.metadataOf(key), proof, s.at);
            require(valid == s.valid, "lotEntryValidAt about the past changed");
        }
    }

    /// @dev Key -> device is one-to-one: every key the handler attached to a device still maps to it, and a
    /// device's current key maps back to the device.
    function invariant_keyToDeviceOneToOne() external view {
        for (uint256 s = 0; s < 16; ++s) {
            (, address key) = handler.keyOf(s);
            uint256 ghost = handler.ghostDeviceOf(key);
            require(registry.getKey(key).deviceId == ghost, "a key's device changed or appeared unseen");
        }
        for (uint256 i = 0; i < handler.deviceCount(); ++i) {
            uint256 deviceId = handler.devices(i);
            require(
                registry.getKey(registry.getDevice(deviceId).currentKey).deviceId == deviceId,
                "current key elsewhere"
            );
        }
    }

    /// @dev M-1: no device record exists without a possession proof of its key.
    function invariant_noRecordWithoutPossession() external view {
        for (uint256 s = 0; s < 16; ++s) {
            (, address key) = handler.keyOf(s);
            if (registry.getDevice(uint160(key)).status != IDeviceRegistry.DeviceStatus.None) {
                require(handler.proven(key), "a record without a possession proof");
            }
        }
    }

    /// @dev Revoked is terminal: once revoked, a device stays revoked and keeps its key.
    function invariant_revokedIsTerminal() external view {
        for (uint256 i = 0; i < handler.deviceCount(); ++i) {
            uint256 deviceId = handler.devices(i);
            if (!handler.revokedSeen(deviceId)) continue;
            IDeviceRegistry.DeviceInfo memory info = registry.getDevice(deviceId);
            require(info.status == IDeviceRegistry.DeviceStatus.Revoked, "a revoked device came back");
            require(info.currentKey == handler.keyAtRevocation(deviceId), "a revoked device's key changed");
        }
    }

    /// @dev The status now equals `statusAt(now)`, and `validAt(current key, now)` is exactly "Active".
    function invariant_statusViewsAgree() external view {
        uint48 now_ = uint48(block.timestamp);
        for (uint256 i = 0; i < handler.deviceCount(); ++i) {
            uint256 deviceId = handler.devices(i);
            IDeviceRegistry.DeviceInfo memory info = registry.getDevice(deviceId);
            require(registry.statusAt(deviceId, now_) == info.status, "statusAt(now) differs from the status");
            require(
                registry.validAt(info.currentKey, now_) == (info.status == IDeviceRegistry.DeviceStatus.Active),
                "validAt(current key, now) differs from Active"
            );
        }
    }

    /// @dev A device's registration time never changes and is never in the future; its owner is never zero.
    function invariant_registrationStable() external view {
        for (uint256 i = 0; i < handler.deviceCount(); ++i) {
            uint256 deviceId = handler.devices(i);
            IDeviceRegistry.DeviceInfo memory info = registry.getDevice(deviceId);
            require(info.registeredAt == handler.registeredAt(deviceId), "registration time moved");
            require(info.registeredAt <= block.timestamp, "registered in the future");
            require(info.owner != address(0), "an owner of zero");
        }
    }

    /// @dev Key windows are well formed: from <= until, and only a device's current key has no end.
    function invariant_keyWindowsWellFormed() external view {
        for (uint256 s = 0; s < 16; ++s) {
            (, address key) = handler.keyOf(s);
            IDeviceRegistry.KeyInfo memory info = registry.getKey(key);
            if (info.deviceId == 0) continue;
            if (info.validUntil != 0) require(info.validFrom <= info.validUntil, "a window ends before it starts");
            bool current = registry.getDevice(info.deviceId).currentKey == key;
            require(current == (info.validUntil == 0), "an open window on an old key, or a closed one on the current");
        }
    }

    /// @dev Lots: ids are sequential, roots never change, status only moves forward.
    function invariant_lotsOnlyMoveForward() external view {
        require(registry.lotCount() == handler.lotCount(), "lot count differs from the commits");
        for (uint256 i = 0; i < handler.lotCount(); ++i) {
            (uint256 lotId, , , , bytes32 root) = handler.lots(i);
            IDeviceRegistry.LotInfo memory info = registry.getLot(lotId);
            require(lotId == i + 1, "lot ids are not sequential");
            require(info.root == root, "a lot root changed");
            require(uint8(info.status) == handler.lotStatusSeen(lotId), "a lot status differs from its history");
            require((info.endedAt != 0) == (info.status != IDeviceRegistry.LotStatus.Active), "endedAt off");
        }
    }

    /// @dev The registry moment never runs backwards and its time is now.
    function invariant_momentIsNow() external view {
        require(registry.moment() >> 16 == block.timestamp, "the moment is not now");
    }

    /// @dev N-M2: a key of a revoked device, or a key rotated away, is never valid now through any path:
    /// its record (`validAt`) or any lot that holds it (`lotEntryValidAt`), whoever committed that lot.
    function invariant_revokedOrRotatedKeyNeverValid() external view {
        uint48 now_ = uint48(block.timestamp);
        for (uint256 s = 0; s < 16; ++s) {
            (, address key) = handler.keyOf(s);
            uint256 deviceId = handler.ghostDeviceOf(key);
            if (deviceId == 0) continue;
            bool dead = handler.revokedSeen(deviceId) || registry.getDevice(deviceId).currentKey != key;
            if (!dead) continue;
            require(!registry.validAt(key, now_), "a revoked or rotated-away key is valid");
            for (uint256 i = 0; i < handler.lotCount(); ++i) {
                (uint256 lotId, , address a, address b, ) = handler.lots(i);
                if (key != a && key != b) continue;
                (, bytes32[] memory proof) = handler.lotProof(i, key == a);
                require(
                    !registry.lotEntryValidAt(lotId, key, handler.metadataOf(key), proof, now_),
                    "a lot vouches for a revoked or rotated-away key"
                );
            }
        }
    }

    /// @dev A lot entry never counts before its lot's commit.
    function invariant_noEntryBeforeCommit() external view {
        for (uint256 i = 0; i < handler.lotCount(); ++i) {
            (uint256 lotId, , , , ) = handler.lots(i);
            uint48 committedAt = registry.getLot(lotId).committedAt;
            (address key, bytes32[] memory proof) = handler.lotProof(i, true);
            require(
                !registry.lotEntryValidAt(lotId, key, handler.metadataOf(key), proof, committedAt - 1),
                "an entry counts before its lot"
            );
        }
    }
}
