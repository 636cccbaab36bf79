// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";
import {IDeviceRegistry} from "./IDeviceRegistry.sol";
import {DeviceRecords} from "./DeviceRecords.sol";
import {Lots} from "./Lots.sol";
import {Moments} from "./Moments.sol";

/**
 * @title DeviceRegistry
 * @notice See {IDeviceRegistry}. Device keys sign possession proofs with ECDSA; owners sign relayable
 * actions as EOAs or ERC-1271 contracts. Every signed action has its own EIP-712 type.
 *
 * Replay protection: an owner's signature consumes the owner's nonce. A possession proof (RegisterDevice,
 * ClaimDevice, AcceptKey) is signed over the key's current nonce but does not consume it: such a proof is for
 * a key the registry does not know yet, and its first successful use makes the key known for good, so every
 * later use fails with `RegistryKeyAlreadyUsed`. Not writing a fresh nonce slot keeps a registration under
 * 100k gas.
 */
contract DeviceRegistry is IDeviceRegistry, AccessControl, EIP712, Nonces {
    using DeviceRecords for DeviceRecords.Device;
    using Lots for Lots.Lot;
    using Lots for Lots.Entry;
    using Moments for Moments.Clock;

    /// @notice Role that may register devices and commit lots.
    bytes32 public constant MANUFACTURER_ROLE = keccak256("MANUFACTURER_ROLE");

    bytes32 internal constant REGISTER_DEVICE_TYPEHASH = keccak256(
        "RegisterDevice(address key,address registrant,address owner,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant CLAIM_DEVICE_TYPEHASH = keccak256(
        "ClaimDevice(address key,uint256 lotId,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant ACCEPT_KEY_TYPEHASH = keccak256(
        "AcceptKey(address key,uint256 deviceId,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant TRANSFER_DEVICE_TYPEHASH = keccak256(
        "TransferDevice(uint256 deviceId,address newOwner,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant ACCEPT_TRANSFER_TYPEHASH = keccak256(
        "AcceptTransfer(uint256 deviceId,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant SUSPEND_DEVICE_TYPEHASH = keccak256(
        "SuspendDevice(uint256 deviceId,uint16 reason,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant RESUME_DEVICE_TYPEHASH = keccak256(
        "ResumeDevice(uint256 deviceId,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant REVOKE_DEVICE_TYPEHASH = keccak256(
        "RevokeDevice(uint256 deviceId,uint16 reason,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant ROTATE_KEY_TYPEHASH = keccak256(
        "RotateKey(uint256 deviceId,address newKey,uint256 nonce,uint256 deadline)"
    );

    mapping(uint256 deviceId => DeviceRecords.Device record) private _devices;
    /// @dev Device of every key a device rotated to (a device's first key is its id and needs no entry).
    mapping(address key => uint256 deviceId) private _rotatedKeys;
    mapping(uint256 lotId => Lots.Lot lot) private _lots;
    mapping(uint256 lotId => mapping(address key => Lots.Entry entry)) private _lotEntries;
    Moments.Clock private _clock;
    uint64 private _lotCount;

    /// @param admin Receives the default admin role, which grants and revokes `MANUFACTURER_ROLE`.
    constructor(address admin) EIP712("iotrail DeviceRegistry", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        // A non-zero clock slot from the start: the first change pays for an update, not a fresh slot.
        _clock.at = Time.timestamp();
    }

    // ---------------------------------------------------------------- registration

    /// @inheritdoc IDeviceRegistry
    function register(Registration calldata registration) external onlyRole(MANUFACTURER_ROLE) returns (uint256) {
        return _register(registration, _clock.tick());
    }

    /// @inheritdoc IDeviceRegistry
    function registerBatch(Registration[] calldata registrations) external onlyRole(MANUFACTURER_ROLE) {
        uint256 count = registrations.length;
        if (count == 0) revert RegistryEmptyBatch();
        // One transaction, one moment: nothing can come between its registrations.
        uint64 at = _clock.tick();
        for (uint256 i = 0; i < count; ++i) {
            _register(registrations[i], at);
        }
    }

    /// @inheritdoc IDeviceRegistry
    function commitLot(
        bytes32 root,
        address owner,
        uint32 deviceCount,
        string calldata metadataURI
    ) external onlyRole(MANUFACTURER_ROLE) returns (uint256 lotId) {
        if (root == bytes32(0)) revert RegistryInvalidLotRoot(root);
        if (owner == address(0)) revert RegistryInvalidOwner(owner);
        lotId = ++_lotCount;
        _lots[lotId] = Lots.Lot({
            root: root,
            manufacturer: msg.sender,
            committed: _clock.tick(),
            status: LotStatus.Active,
            owner: owner,
            ended: 0,
            deviceCount: deviceCount
        });
        emit LotCommitted(lotId, msg.sender, owner, root, deviceCount, metadataURI);
    }

    /// @inheritdoc IDeviceRegistry
    function closeLot(uint256 lotId) external {
        Lots.Lot storage lot = _lotManagedBy(lotId, msg.sender);
        uint64 at = _clock.tick();
        lot.end(lotId, LotStatus.Closed, at);
        emit LotStatusChanged(lotId, LotStatus.Closed, 0, Moments.timestampOf(at));
    }

    /// @inheritdoc IDeviceRegistry
    function revokeLot(uint256 lotId, uint16 reason) external {
        Lots.Lot storage lot = _lotManagedBy(lotId, msg.sender);
        uint64 at = _clock.tick();
        lot.end(lotId, LotStatus.Revoked, at);
        emit LotStatusChanged(lotId, LotStatus.Revoked, reason, Moments.timestampOf(at));
    }

    /// @inheritdoc IDeviceRegistry
    function claim(
        uint256 lotId,
        bytes32 metadataHash,
        bytes32[] calldata proof,
        KeyProof calldata keyProof
    ) external returns (uint256 deviceId) {
        Lots.Lot storage lot = _lots[lotId];
        lot.requireOpen(lotId, false);
        address key = keyProof.key;
        _requireLotEntry(lot, lotId, key, metadataHash, proof);
        Lots.Entry storage entry = _lotEntries[lotId][key];
        entry.requireUntouched(lotId, key);
        _requireFreshKey(key);
        _requirePossession(
            keyProof,
            keccak256(abi.encode(CLAIM_DEVICE_TYPEHASH, key, lotId, Nonces.nonces(key), keyProof.deadline))
        );
        deviceId = uint160(key);
        address owner = lot.owner;
        // The record counts from the claim on; the lot answers for the time before it (lotEntryValidAt).
        uint64 at = _clock.tick();
        entry.claimed = at;
        _devices[deviceId].create(owner, at, metadataHash);
        emit DeviceClaimed(deviceId, key, lotId, owner, metadataHash);
    }

    /// @inheritdoc IDeviceRegistry
    function revokeLotDevice(
        uint256 lotId,
        address key,
        bytes32 metadataHash,
        bytes32[] calldata proof,
        uint16 reason
    ) external {
        Lots.Lot storage lot = _lots[lotId];
        lot.requireOpen(lotId, true);
        if (msg.sender != lot.owner && msg.sender != lot.manufacturer) revert RegistryNotLotManager(lotId, msg.sender);
        _requireLotEntry(lot, lotId, key, metadataHash, proof);
        Lots.Entry storage entry = _lotEntries[lotId][key];
        entry.requireUntouched(lotId, key);
        // Recorded in this lot only: no device record, and the key stays free for its holder's own proof.
        uint64 at = _clock.tick();
        entry.revoked = at;
        emit LotEntryRevoked(lotId, key, reason, Moments.timestampOf(at));
    }

    // ---------------------------------------------------------------- ownership

    /// @inheritdoc IDeviceRegistry
    function startTransfer(uint256 deviceId, address newOwner) external {
        _startTransfer(_ownedBy(deviceId, msg.sender), deviceId, newOwner);
    }

    /// @inheritdoc IDeviceRegistry
    function startTransferBySig(
        uint256 deviceId,
        address newOwner,
        uint256 deadline,
        bytes calldata signature
    ) external {
        DeviceRecords.Device storage device = _knownDevice(deviceId);
        address owner = device.owner;
        _requireSignature(
            owner,
            keccak256(abi.encode(TRANSFER_DEVICE_TYPEHASH, deviceId, newOwner, _useNonce(owner), deadline)),
            deadline,
            signature
        );
        _startTransfer(device, deviceId, newOwner);
    }

    /// @inheritdoc IDeviceRegistry
    function acceptTransfer(uint256 deviceId) external {
        DeviceRecords.Device storage device = _knownDevice(deviceId);
        if (msg.sender != device.pendingOwner) revert RegistryNotPendingOwner(deviceId, msg.sender);
        _acceptTransfer(device, deviceId);
    }

    /// @inheritdoc IDeviceRegistry
    function acceptTransferBySig(uint256 deviceId, uint256 deadline, bytes calldata signature) external {
        DeviceRecords.Device storage device = _knownDevice(deviceId);
        address pending = device.pendingOwner;
        if (pending == address(0)) revert RegistryNotPendingOwner(deviceId, pending);
        _requireSignature(
            pending,
            keccak256(abi.encode(ACCEPT_TRANSFER_TYPEHASH, deviceId, _useNonce(pending), deadline)),
            deadline,
            signature
        );
        _acceptTransfer(device, deviceId);
    }

    // ---------------------------------------------------------------- status

    /// @inheritdoc IDeviceRegistry
    function suspend(uint256 deviceId, uint16 reason) external {
        _setStatus(_ownedBy(deviceId, msg.sender), deviceId, DeviceStatus.Suspended, reason);
    }

    /// @inheritdoc IDeviceRegistry
    function suspendBySig(uint256 deviceId, uint16 reason, uint256 deadline, bytes calldata signature) external {
        DeviceRecords.Device storage device = _knownDevice(deviceId);
        address owner = device.owner;
        _requireSignature(
            owner,
            keccak256(abi.encode(SUSPEND_DEVICE_TYPEHASH, deviceId, reason, _useNonce(owner), deadline)),
            deadline,
            signature
        );
        _setStatus(device, deviceId, DeviceStatus.Suspended, reason);
    }

    /// @inheritdoc IDeviceRegistry
    function resume(uint256 deviceId) external {
        _setStatus(_ownedBy(deviceId, msg.sender), deviceId, DeviceStatus.Active, 0);
    }

    /// @inheritdoc IDeviceRegistry
    function resumeBySig(uint256 deviceId, uint256 deadline, bytes calldata signature) external {
        DeviceRecords.Device storage device = _knownDevice(deviceId);
        address owner = device.owner;
        _requireSignature(
            owner,
            keccak256(abi.encode(RESUME_DEVICE_TYPEHASH, deviceId, _useNonce(owner), deadline)),
            deadline,
            signature
        );
        _setStatus(device, deviceId, DeviceStatus.Active, 0);
    }

    /// @inheritdoc IDeviceRegistry
    function revoke(uint256 deviceId, uint16 reason) external {
        _setStatus(_ownedBy(deviceId, msg.sender), deviceId, DeviceStatus.Revoked, reason);
    }

    /// @inheritdoc IDeviceRegistry
    function revokeBySig(uint256 deviceId, uint16 reason, uint256 deadline, bytes calldata signature) external {
        DeviceRecords.Device storage device = _knownDevice(deviceId);
        address owner = device.owner;
        _requireSignature(
            owner,
            keccak256(abi.encode(REVOKE_DEVICE_TYPEHASH, deviceId, reason, _useNonce(owner), deadline)),
            deadline,
            signature
        );
        _setStatus(device, deviceId, DeviceStatus.Revoked, reason);
    }

    // ---------------------------------------------------------------- keys

    /// @inheritdoc IDeviceRegistry
    function rotateKey(uint256 deviceId, KeyProof calldata newKey) external {
        _rotateKey(_ownedBy(deviceId, msg.sender), deviceId, newKey);
    }

    /// @inheritdoc IDeviceRegistry
    function rotateKeyBySig(
        uint256 deviceId,
        KeyProof calldata newKey,
        uint256 deadline,
        bytes calldata signature
    ) external {
        DeviceRecords.Device storage device = _knownDevice(deviceId);
        address owner = device.owner;
        _requireSignature(
            owner,
            keccak256(abi.encode(ROTATE_KEY_TYPEHASH, deviceId, newKey.key, _useNonce(owner), deadline)),
            deadline,
            signature
        );
        _rotateKey(device, deviceId, newKey);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IDeviceRegistry
    function validAt(address key, uint48 timestamp) external view returns (bool) {
        _requirePast(timestamp);
        return _validAt(key, Moments.endOf(timestamp));
    }

    /// @inheritdoc IDeviceRegistry
    function validAtMoment(address key, uint64 at_) external view returns (bool) {
        _requirePast(Moments.timestampOf(at_));
        return _validAt(key, at_);
    }

    /// @inheritdoc IDeviceRegistry
    function moment() external view returns (uint64) {
        return _clock.current();
    }

    /// @inheritdoc IDeviceRegistry
    function lotEntryValidAt(
        uint256 lotId,
        address key,
        bytes32 metadataHash,
        bytes32[] calldata proof,
        uint48 timestamp
    ) external view returns (bool) {
        _requirePast(timestamp);
        return _lotEntryValidAt(lotId, key, metadataHash, proof, Moments.endOf(timestamp));
    }

    /// @inheritdoc IDeviceRegistry
    function lotEntryValidAtMoment(
        uint256 lotId,
        address key,
        bytes32 metadataHash,
        bytes32[] calldata proof,
        uint64 at_
    ) external view returns (bool) {
        _requirePast(Moments.timestampOf(at_));
        return _lotEntryValidAt(lotId, key, metadataHash, proof, at_);
    }

    /// @inheritdoc IDeviceRegistry
    function getKey(address key) external view returns (KeyInfo memory) {
        uint256 deviceId = _deviceOf(key);
        if (deviceId == 0) return KeyInfo(0, 0, 0);
        (uint64 from, uint64 until) = _devices[deviceId].keyWindow(deviceId, key);
        return KeyInfo(deviceId, Moments.timestampOf(from), Moments.timestampOf(until));
    }

    /// @inheritdoc IDeviceRegistry
    function getDevice(uint256 deviceId) external view returns (DeviceInfo memory) {
        DeviceRecords.Device storage device = _devices[deviceId];
        if (!device.exists()) return DeviceInfo(address(0), address(0), address(0), DeviceStatus.None, 0, 0, 0);
        return
            DeviceInfo({
                owner: device.owner,
                pendingOwner: device.pendingOwner,
                currentKey: device.key(deviceId),
                status: device.status,
                reason: device.reason,
                registeredAt: Moments.timestampOf(device.registered),
                metadataHash: device.metadataHash
            });
    }

    /// @inheritdoc IDeviceRegistry
    function statusAt(uint256 deviceId, uint48 timestamp) external view returns (DeviceStatus) {
        _requirePast(timestamp);
        return _devices[deviceId].statusAt(Moments.endOf(timestamp));
    }

    /// @inheritdoc IDeviceRegistry
    function getLot(uint256 lotId) external view returns (LotInfo memory) {
        Lots.Lot storage lot = _lots[lotId];
        return
            LotInfo({
                root: lot.root,
                manufacturer: lot.manufacturer,
                owner: lot.owner,
                status: lot.status,
                committedAt: Moments.timestampOf(lot.committed),
                endedAt: Moments.timestampOf(lot.ended),
                deviceCount: lot.deviceCount
            });
    }

    /// @inheritdoc IDeviceRegistry
    function lotCount() external view returns (uint256) {
        return _lotCount;
    }

    /// @inheritdoc IDeviceRegistry
    /// @dev The contract's own reads call `Nonces.nonces` directly: the same value without this override's jump.
    function nonces(address account) public view override(IDeviceRegistry, Nonces) returns (uint256) {
        return super.nonces(account);
    }

    // ---------------------------------------------------------------- internals

    function _register(Registration calldata registration, uint64 at) private returns (uint256 deviceId) {
        address key = registration.key;
        address owner = registration.owner;
        if (owner == address(0)) revert RegistryInvalidOwner(owner);
        _requireFreshKey(key);
        _requirePossession(
            KeyProof(key, registration.deadline, registration.signature),
            keccak256(
                abi.encode(REGISTER_DEVICE_TYPEHASH, key, msg.sender, owner, Nonces.nonces(key), registration.deadline)
            )
        );
        deviceId = uint160(key);
        _devices[deviceId].create(owner, at, registration.metadataHash);
        emit DeviceRegistered(deviceId, key, owner, msg.sender, registration.metadataHash, registration.metadataURI);
    }

    function _startTransfer(DeviceRecords.Device storage device, uint256 deviceId, address newOwner) private {
        if (device.status == DeviceStatus.Revoked) revert RegistryDeviceRevoked(deviceId);
        device.pendingOwner = newOwner;
        emit DeviceTransferStarted(deviceId, device.owner, newOwner);
    }

    function _acceptTransfer(DeviceRecords.Device storage device, uint256 deviceId) private {
        if (device.status == DeviceStatus.Revoked) revert RegistryDeviceRevoked(deviceId);
        address from = device.owner;
        address to = device.pendingOwner;
        device.owner = to;
        device.pendingOwner = address(0);
        emit DeviceTransferred(deviceId, from, to);
    }

    function _setStatus(
        DeviceRecords.Device storage device,
        uint256 deviceId,
        DeviceStatus status,
        uint16 reason
    ) private {
        uint64 at = _clock.tick();
        device.transition(deviceId, status, reason, at);
        emit DeviceStatusChanged(deviceId, device.key(deviceId), status, reason, Moments.timestampOf(at));
    }

    function _rotateKey(DeviceRecords.Device storage device, uint256 deviceId, KeyProof calldata newKey) private {
        if (device.status == DeviceStatus.Revoked) revert RegistryDeviceRevoked(deviceId);
        address key = newKey.key;
        _requireFreshKey(key);
        _requirePossession(
            newKey,
            keccak256(abi.encode(ACCEPT_KEY_TYPEHASH, key, deviceId, Nonces.nonces(key), newKey.deadline))
        );
        uint64 at = _clock.tick();
        address oldKey = device.key(deviceId);
        device.rotate(key, at);
        _rotatedKeys[key] = deviceId;
        emit DeviceKeyRotated(deviceId, oldKey, key, Moments.timestampOf(at));
    }

    function _knownDevice(uint256 deviceId) private view returns (DeviceRecords.Device storage device) {
        device = _devices[deviceId];
        if (!device.exists()) revert RegistryUnknownDevice(deviceId);
    }

    function _ownedBy(uint256 deviceId, address account) private view returns (DeviceRecords.Device storage device) {
        device = _knownDevice(deviceId);
        if (device.owner != account) revert RegistryNotDeviceOwner(deviceId, account);
    }

    function _lotManagedBy(uint256 lotId, address account) private view returns (Lots.Lot storage lot) {
        lot = _lots[lotId];
        if (lot.status == LotStatus.None) revert RegistryUnknownLot(lotId);
        if (account != lot.manufacturer && !hasRole(DEFAULT_ADMIN_ROLE, account)) {
            revert RegistryNotLotManager(lotId, account);
        }
    }

    function _requireLotEntry(
        Lots.Lot storage lot,
        uint256 lotId,
        address key,
        bytes32 metadataHash,
        bytes32[] calldata proof
    ) private view {
        if (!lot.contains(key, metadataHash, proof)) revert RegistryInvalidLotProof(lotId, key);
    }

    /// @dev The device a key belongs or belonged to, or 0.
    function _deviceOf(address key) private view returns (uint256) {
        uint256 rotated = _rotatedKeys[key];
        if (rotated != 0) return rotated;
        return _devices[uint160(key)].exists() ? uint160(key) : 0;
    }

    function _requireFreshKey(address key) private view {
        if (_deviceOf(key) != 0) revert RegistryKeyAlreadyUsed(key);
    }

    function _validAt(address key, uint64 at) private view returns (bool) {
        uint256 deviceId = _deviceOf(key);
        if (deviceId == 0) return false;
        DeviceRecords.Device storage device = _devices[deviceId];
        // statusAt is None before the registration moment, and keyAt is only asked from then on.
        return device.statusAt(at) == DeviceStatus.Active && device.keyAt(deviceId, at) == key;
    }

    function _lotEntryValidAt(
        uint256 lotId,
        address key,
        bytes32 metadataHash,
        bytes32[] calldata proof,
        uint64 at
    ) private view returns (bool) {
        Lots.Lot storage lot = _lots[lotId];
        if (!lot.contains(key, metadataHash, proof) || lot.isBeforeCommit(at)) return false;
        // The key's own record decides over any lot from the moment it names the key (a claim from this or
        // another lot, a registration, a rotation to it): no lot vouches for a key its owner revoked.
        uint256 deviceId = _deviceOf(key);
        if (deviceId != 0) {
            (uint64 recordedFrom, ) = _devices[deviceId].keyWindow(deviceId, key);
            if (at >= recordedFrom) return _validAt(key, at);
        }
        uint64 revoked = _lotEntries[lotId][key].revoked;
        if (revoked != 0 && at >= revoked) return false;
        return lot.entryCountsAt(at);
    }

    /// @dev Checks a device key's possession proof over `structHash` (ECDSA only: device keys are EOAs).
    function _requirePossession(KeyProof memory proof, bytes32 structHash) private view {
        _requireDeadline(proof.deadline);
        (address signer, ECDSA.RecoverError error, ) = ECDSA.tryRecover(_hashTypedDataV4(structHash), proof.signature);
        if (error != ECDSA.RecoverError.NoError || signer != proof.key) {
            revert RegistryInvalidPossessionProof(proof.key, signer);
        }
    }

    /// @dev Checks an owner's signature over `structHash` (EOA or ERC-1271 contract).
    function _requireSignature(
        address signer,
        bytes32 structHash,
        uint256 deadline,
        bytes calldata signature
    ) private view {
        _requireDeadline(deadline);
        if (!SignatureChecker.isValidSignatureNow(signer, _hashTypedDataV4(structHash), signature)) {
            revert RegistryInvalidSignature(signer);
        }
    }

    function _requireDeadline(uint256 deadline) private view {
        if (block.timestamp > deadline) revert RegistrySignatureExpired(deadline, block.timestamp);
    }

    function _requirePast(uint48 timestamp) private view {
        uint48 current = Time.timestamp();
        if (timestamp > current) revert RegistryFutureLookup(timestamp, current);
    }
}
