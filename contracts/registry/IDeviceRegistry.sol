// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title IDeviceRegistry
 * @notice Identity of IoT devices. A device has a stable id and signs with a secp256k1 key (an Ethereum
 * address) that may change over its life. The id of a device is the address of its first key, as a uint256.
 *
 * Devices enter the registry one by one (`register`, with the device's EIP-712 possession proof) or in
 * production lots (`commitLot`, one Merkle root for any number of devices; a device later `claim`s its
 * entry to get a full record). Owners transfer, suspend, resume, revoke and rotate keys, either directly or
 * through a signature that any relayer submits. Every change takes effect at a registry moment: the chain
 * time and the change's position within that second (see `moment()`), so that two changes, or a change and
 * another contract's reading of the registry, are ordered even within one block. The history is kept, and a
 * question about a past time or moment (`validAt`, `validAtMoment`, `lotEntryValidAt`, `statusAt`) gets the
 * same answer forever, whatever anyone does later.
 *
 * No device record is created without the key's possession proof: `register`, `claim` and `rotateKey` each
 * carry one. A lot is its manufacturer's commitment and answers only for itself (`lotEntryValidAt`).
 */
interface IDeviceRegistry {
    /// @notice Life cycle of a device. `None` means unknown. `Revoked` is terminal.
    enum DeviceStatus {
        None,
        Active,
        Suspended,
        Revoked
    }

    /// @notice Life cycle of a production lot. `Closed` ends claiming; `Revoked` also invalidates
    /// every unclaimed entry from the revocation moment on.
    enum LotStatus {
        None,
        Active,
        Closed,
        Revoked
    }

    /// @notice One device registration in `register` or `registerBatch`.
    /// @param key The device's signing key (an Ethereum address); it also becomes the device id.
    /// @param owner The first owner of the device.
    /// @param metadataHash Content hash of the device document (model, firmware hash, ...).
    /// @param metadataURI Where the device document is published (emitted, not stored).
    /// @param deadline Last chain timestamp at which the possession proof is accepted.
    /// @param signature The device key's EIP-712 `RegisterDevice` signature over `nonces(key)`. Possession proofs
    /// do not consume the nonce: their first use makes the key known, and a known key is never accepted again.
    struct Registration {
        address key;
        address owner;
        bytes32 metadataHash;
        string metadataURI;
        uint256 deadline;
        bytes signature;
    }

    /// @notice A possession proof by a key that is not yet known to the registry.
    /// @param key The key that signed.
    /// @param deadline Last chain timestamp at which the proof is accepted.
    /// @param signature The key's EIP-712 signature (`ClaimDevice` or `AcceptKey`).
    struct KeyProof {
        address key;
        uint256 deadline;
        bytes signature;
    }

    /// @notice A device record as returned by `getDevice`.
    /// @param owner Current owner.
    /// @param pendingOwner Owner-to-be of a started transfer, or zero.
    /// @param currentKey The key the device signs with now.
    /// @param status Current status.
    /// @param reason Reason code of the last suspension or revocation (0 when active since registration).
    /// @param registeredAt Chain time of the registration (of the claim, for a lot device): the record counts
    /// from then on. A lot device's time in its lot before the claim is answered by `lotEntryValidAt`.
    /// @param metadataHash Content hash of the device document.
    // solhint-disable-next-line gas-struct-packing
    struct DeviceInfo {
        address owner;
        address pendingOwner;
        address currentKey;
        DeviceStatus status;
        uint16 reason;
        uint48 registeredAt;
        bytes32 metadataHash;
    }

    /// @notice What the registry knows of a key.
    /// @param deviceId The device the key belongs (or belonged) to, or 0 if unknown.
    /// @param validFrom First chain time at which the key is the device's key.
    /// @param validUntil First chain time at which it no longer is (0: still the current key).
    struct KeyInfo {
        uint256 deviceId;
        uint48 validFrom;
        uint48 validUntil;
    }

    /// @notice A production lot as returned by `getLot`.
    /// @param root Merkle root over the lot's `(address key, bytes32 metadataHash)` leaves.
    /// @param manufacturer The manufacturer that committed the lot.
    /// @param owner Owner of every device in the lot until it is transferred.
    /// @param status Current status.
    /// @param committedAt Chain time of the commit: entries count as registered from then.
    /// @param endedAt Chain time of close or revocation (0 while active).
    /// @param deviceCount Number of devices the manufacturer declared (informational).
    struct LotInfo {
        bytes32 root;
        address manufacturer;
        address owner;
        LotStatus status;
        uint48 committedAt;
        uint48 endedAt;
        uint32 deviceCount;
    }

    /// @notice A device was registered by `registrant`.
    event DeviceRegistered(
        uint256 indexed deviceId,
        address indexed key,
        address indexed owner,
        address registrant,
        bytes32 metadataHash,
        string metadataURI
    );

    /// @notice A lot device claimed its entry and got a full record.
    event DeviceClaimed(
        uint256 indexed deviceId,
        address indexed key,
        uint256 indexed lotId,
        address owner,
        bytes32 metadataHash
    );

    /// @notice The owner of a device started a transfer to `to` (zero: the pending transfer was cancelled).
    event DeviceTransferStarted(uint256 indexed deviceId, address indexed from, address indexed to);

    /// @notice A device changed owner.
    event DeviceTransferred(uint256 indexed deviceId, address indexed from, address indexed to);

    /// @notice A device's status changed at chain time `at`.
    event DeviceStatusChanged(
        uint256 indexed deviceId,
        address indexed key,
        DeviceStatus indexed status,
        uint16 reason,
        uint48 at
    );

    /// @notice A device's key was rotated at chain time `at`.
    event DeviceKeyRotated(uint256 indexed deviceId, address indexed oldKey, address indexed newKey, uint48 at);

    /// @notice A manufacturer committed a production lot.
    event LotCommitted(
        uint256 indexed lotId,
        address indexed manufacturer,
        address indexed owner,
        bytes32 root,
        uint32 deviceCount,
        string metadataURI
    );

    /// @notice A lot's status changed (closed or revoked) at chain time `at`.
    event LotStatusChanged(uint256 indexed lotId, LotStatus indexed status, uint16 reason, uint48 at);

    /// @notice One unclaimed entry of a lot was revoked, within that lot only, at chain time `at`.
    event LotEntryRevoked(uint256 indexed lotId, address indexed key, uint16 reason, uint48 at);

    /// @notice The key is already (or was once) the key of a device; keys are never reused.
    error RegistryKeyAlreadyUsed(address key);

    /// @notice The zero address cannot own a device or a lot.
    error RegistryInvalidOwner(address owner);

    /// @notice A possession proof was not signed by `key` (recovered `signer` instead).
    error RegistryInvalidPossessionProof(address key, address signer);

    /// @notice An owner's signature does not verify for `expectedSigner`.
    error RegistryInvalidSignature(address expectedSigner);

    /// @notice A signature's deadline has passed.
    error RegistrySignatureExpired(uint256 deadline, uint256 timestamp);

    /// @notice No device has this id.
    error RegistryUnknownDevice(uint256 deviceId);

    /// @notice `account` is not the device's owner.
    error RegistryNotDeviceOwner(uint256 deviceId, address account);

    /// @notice `account` is not the device's pending owner.
    error RegistryNotPendingOwner(uint256 deviceId, address account);

    /// @notice The status change is not allowed (Revoked is terminal; Active <-> Suspended).
    error RegistryInvalidStatusTransition(uint256 deviceId, DeviceStatus from, DeviceStatus to);

    /// @notice The device is revoked: its key and ownership can no longer change.
    error RegistryDeviceRevoked(uint256 deviceId);

    /// @notice No lot has this id.
    error RegistryUnknownLot(uint256 lotId);

    /// @notice The lot is not in the status the action needs.
    error RegistryLotNotActive(uint256 lotId, LotStatus status);

    /// @notice `account` may not manage the lot.
    error RegistryNotLotManager(uint256 lotId, address account);

    /// @notice The Merkle proof does not show `key` with that metadata in the lot.
    error RegistryInvalidLotProof(uint256 lotId, address key);

    /// @notice A lot root of zero is not a commitment.
    error RegistryInvalidLotRoot(bytes32 root);

    /// @notice The lot entry was revoked in this lot: it can no longer be claimed or revoked there.
    error RegistryLotEntryRevoked(uint256 lotId, address key);

    /// @notice A validity question about the future (chain time `timestamp` after `currentTime`).
    error RegistryFutureLookup(uint48 timestamp, uint48 currentTime);

    /// @notice A batch call carried no item.
    error RegistryEmptyBatch();

    /**
     * @notice Registers one device. The caller needs the manufacturer role and must be the `registrant`
     * named in the device's possession proof.
     * @param registration The device, its owner, metadata and possession proof.
     * @return deviceId The new device id (the key as a uint256).
     */
    function register(Registration calldata registration) external returns (uint256 deviceId);

    /**
     * @notice Registers many devices in one transaction; reverts as a whole if any registration fails.
     * @param registrations The devices to register.
     */
    function registerBatch(Registration[] calldata registrations) external;

    /**
     * @notice Commits the Merkle root of a production lot: every device in it counts as registered from now.
     * Leaves are OpenZeppelin standard leaves over `abi.encode(address key, bytes32 metadataHash)`.
     * @param root The lot's Merkle root.
     * @param owner Owner of the lot's devices.
     * @param deviceCount Number of devices in the lot (informational).
     * @param metadataURI Where the lot's device list is published (emitted, not stored).
     * @return lotId The new lot id (sequential, from 1).
     */
    function commitLot(
        bytes32 root,
        address owner,
        uint32 deviceCount,
        string calldata metadataURI
    ) external returns (uint256 lotId);

    /**
     * @notice Ends claiming for a lot. Unclaimed entries keep counting as registered. Callable by the lot's
     * manufacturer or an admin.
     * @param lotId The lot.
     */
    function closeLot(uint256 lotId) external;

    /**
     * @notice Revokes a lot: no more claims, and every unclaimed entry stops counting from now. Claimed
     * devices keep their own records. Callable by the lot's manufacturer or an admin.
     * @param lotId The lot.
     * @param reason Reason code.
     */
    function revokeLot(uint256 lotId, uint16 reason) external;

    /**
     * @notice Turns a lot entry into a full device record, owned by the lot's owner. Anyone may submit it:
     * the device's `ClaimDevice` signature authorizes it.
     * @param lotId The lot that holds the device.
     * @param metadataHash The device's metadata hash, as in its leaf.
     * @param proof Merkle proof of the leaf.
     * @param keyProof The device key's `ClaimDevice` possession proof.
     * @return deviceId The device id.
     */
    function claim(
        uint256 lotId,
        bytes32 metadataHash,
        bytes32[] calldata proof,
        KeyProof calldata keyProof
    ) external returns (uint256 deviceId);

    /**
     * @notice Revokes an unclaimed entry of a lot, by the lot's owner or manufacturer. The revocation is
     * recorded in that lot and affects only that lot: the entry stops counting in `lotEntryValidAt` from now
     * on and can no longer be claimed from this lot. No device record is created, and the key stays free for
     * a registration or claim with its own possession proof.
     * @param lotId The lot that holds the device.
     * @param key The device key.
     * @param metadataHash The device's metadata hash, as in its leaf.
     * @param proof Merkle proof of the leaf.
     * @param reason Reason code.
     */
    function revokeLotDevice(
        uint256 lotId,
        address key,
        bytes32 metadataHash,
        bytes32[] calldata proof,
        uint16 reason
    ) external;

    /**
     * @notice Starts a transfer of the device to `newOwner`, who must accept it. Zero cancels.
     * @param deviceId The device.
     * @param newOwner The owner-to-be.
     */
    function startTransfer(uint256 deviceId, address newOwner) external;

    /**
     * @notice `startTransfer` authorized by the owner's `TransferDevice` signature.
     * @param deviceId The device.
     * @param newOwner The owner-to-be.
     * @param deadline Last chain timestamp at which the signature is accepted.
     * @param signature The owner's signature (EOA or ERC-1271).
     */
    function startTransferBySig(
        uint256 deviceId,
        address newOwner,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /**
     * @notice Accepts a started transfer; the caller must be the pending owner.
     * @param deviceId The device.
     */
    function acceptTransfer(uint256 deviceId) external;

    /**
     * @notice `acceptTransfer` authorized by the pending owner's `AcceptTransfer` signature.
     * @param deviceId The device.
     * @param deadline Last chain timestamp at which the signature is accepted.
     * @param signature The pending owner's signature (EOA or ERC-1271).
     */
    function acceptTransferBySig(uint256 deviceId, uint256 deadline, bytes calldata signature) external;

    /**
     * @notice Suspends an active device from now on.
     * @param deviceId The device.
     * @param reason Reason code.
     */
    function suspend(uint256 deviceId, uint16 reason) external;

    /**
     * @notice `suspend` authorized by the owner's `SuspendDevice` signature.
     * @param deviceId The device.
     * @param reason Reason code.
     * @param deadline Last chain timestamp at which the signature is accepted.
     * @param signature The owner's signature (EOA or ERC-1271).
     */
    function suspendBySig(uint256 deviceId, uint16 reason, uint256 deadline, bytes calldata signature) external;

    /**
     * @notice Makes a suspended device active again from now on.
     * @param deviceId The device.
     */
    function resume(uint256 deviceId) external;

    /**
     * @notice `resume` authorized by the owner's `ResumeDevice` signature.
     * @param deviceId The device.
     * @param deadline Last chain timestamp at which the signature is accepted.
     * @param signature The owner's signature (EOA or ERC-1271).
     */
    function resumeBySig(uint256 deviceId, uint256 deadline, bytes calldata signature) external;

    /**
     * @notice Revokes a device from now on, for good.
     * @param deviceId The device.
     * @param reason Reason code.
     */
    function revoke(uint256 deviceId, uint16 reason) external;

    /**
     * @notice `revoke` authorized by the owner's `RevokeDevice` signature.
     * @param deviceId The device.
     * @param reason Reason code.
     * @param deadline Last chain timestamp at which the signature is accepted.
     * @param signature The owner's signature (EOA or ERC-1271).
     */
    function revokeBySig(uint256 deviceId, uint16 reason, uint256 deadline, bytes calldata signature) external;

    /**
     * @notice Replaces the device's key from now on. The old key stays attributable to the device for
     * the time it was valid. The new key proves possession with an `AcceptKey` signature.
     * @param deviceId The device.
     * @param newKey The new key's possession proof.
     */
    function rotateKey(uint256 deviceId, KeyProof calldata newKey) external;

    /**
     * @notice `rotateKey` authorized by the owner's `RotateKey` signature.
     * @param deviceId The device.
     * @param newKey The new key's possession proof.
     * @param deadline Last chain timestamp at which the owner's signature is accepted.
     * @param signature The owner's signature (EOA or ERC-1271).
     */
    function rotateKeyBySig(
        uint256 deviceId,
        KeyProof calldata newKey,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /**
     * @notice Whether `key` was the active key of a registered, active device at the end of chain second
     * `timestamp` (after every change made during that second).
     * @param key The key.
     * @param timestamp A chain time, not in the future.
     * @return True if the key was the device's key then and the device was active then.
     */
    function validAt(address key, uint48 timestamp) external view returns (bool);

    /**
     * @notice `validAt` at a registry moment, as another contract recorded it with `moment()`: changes made
     * after that reading of the registry do not count, even within the same block.
     * @param key The key.
     * @param at_ A registry moment whose chain time is not in the future.
     * @return True if the key was the device's key and the device was active at that moment.
     */
    function validAtMoment(address key, uint64 at_) external view returns (bool);

    /**
     * @notice The registry moment now: `(block.timestamp << 16) | n`, where `n` counts the changes made so
     * far in this second. Every change made so far is at or before it; every later change is after it.
     * @return The current moment.
     */
    function moment() external view returns (uint64);

    /**
     * @notice Whether an entry of a lot counted as a valid device key at the end of chain second `timestamp`.
     * No entry counts before its lot's commit. From then on the lot answers for itself, until the lot or the
     * entry is revoked, but only for times before the key has a device record of its own. From the moment a
     * record names the key (a claim from any lot, a direct registration, or a rotation to it), that record
     * decides (`validAt`) whatever the lot says, so no lot can vouch for a key its owner revoked or rotated
     * away. Answers about times before the
     * record existed do not change. A key in lots of two manufacturers is vouched for by each lot on its
     * own until then; a verifier names the lot and its manufacturer.
     * @param lotId The lot.
     * @param key The device key.
     * @param metadataHash The device's metadata hash, as in its leaf.
     * @param proof Merkle proof of the leaf.
     * @param timestamp A chain time, not in the future.
     * @return True if the entry is in the lot and counted as an active device key then.
     */
    function lotEntryValidAt(
        uint256 lotId,
        address key,
        bytes32 metadataHash,
        bytes32[] calldata proof,
        uint48 timestamp
    ) external view returns (bool);

    /**
     * @notice `lotEntryValidAt` at a registry moment (see `validAtMoment`).
     * @param lotId The lot.
     * @param key The device key.
     * @param metadataHash The device's metadata hash, as in its leaf.
     * @param proof Merkle proof of the leaf.
     * @param at_ A registry moment whose chain time is not in the future.
     * @return True if the entry is in the lot and counted as an active device key then.
     */
    function lotEntryValidAtMoment(
        uint256 lotId,
        address key,
        bytes32 metadataHash,
        bytes32[] calldata proof,
        uint64 at_
    ) external view returns (bool);

    /**
     * @notice What the registry knows of a key: its device and validity window.
     * @param key The key.
     * @return The key's record (`deviceId` 0 if unknown).
     */
    function getKey(address key) external view returns (KeyInfo memory);

    /**
     * @notice The device record.
     * @param deviceId The device.
     * @return The device record (`status` None if unknown).
     */
    function getDevice(uint256 deviceId) external view returns (DeviceInfo memory);

    /**
     * @notice A device's status at a past chain time.
     * @param deviceId The device.
     * @param timestamp A chain time, not in the future.
     * @return The status then (`None` before registration).
     */
    function statusAt(uint256 deviceId, uint48 timestamp) external view returns (DeviceStatus);

    /**
     * @notice A production lot.
     * @param lotId The lot.
     * @return The lot (`status` None if unknown).
     */
    function getLot(uint256 lotId) external view returns (LotInfo memory);

    /// @notice Number of lots committed so far (the last lot id).
    function lotCount() external view returns (uint256);

    /**
     * @notice The current EIP-712 nonce of `account`. Owner actions (`...BySig`) are signed over the owner's
     * nonce and consume it; possession proofs (`RegisterDevice`, `ClaimDevice`, `AcceptKey`) are signed over
     * the key's nonce, which registering or claiming the key consumes.
     * @param account The signing account or device key.
     * @return The nonce the next signature of `account` must carry.
     */
    function nonces(address account) external view returns (uint256);
}
