// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ITelemetryAnchor} from "./ITelemetryAnchor.sol";

/**
 * @title Readings
 * @notice Hashes of a telemetry reading: its EIP-712 struct hash and its Merkle leaf. The TypeScript
 * side (`src/telemetry`) computes the same values; parity tests hold them together.
 */
library Readings {
    /// @notice EIP-712 type hash of `Reading`.
    bytes32 internal constant READING_TYPEHASH = keccak256(
        "Reading(address device,uint64 sequence,uint64 timestamp,bytes32 metric,int256 value,bytes32 payloadHash)"
    );

    /// @notice EIP-712 struct hash of `reading`.
    function structHash(ITelemetryAnchor.Reading calldata reading) internal pure returns (bytes32) {
        return keccak256(abi.encode(READING_TYPEHASH, reading));
    }

    /// @notice OpenZeppelin standard Merkle leaf of `reading`: keccak256(bytes.concat(keccak256(abi.encode(
    /// device, sequence, timestamp, metric, value, payloadHash)))). Hashing twice keeps a leaf from being
    /// read as an inner node.
    function leaf(ITelemetryAnchor.Reading calldata reading) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(reading))));
    }
}
