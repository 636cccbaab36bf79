// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ITelemetryAnchor} from "../anchoring/ITelemetryAnchor.sol";
import {Readings} from "../anchoring/Readings.sol";

/// @dev Test-only: exposes the reading hashes and OpenZeppelin's MerkleProof for parity and property tests.
contract ReadingsHarness {
    function readingTypeHash() external pure returns (bytes32) {
        return Readings.READING_TYPEHASH;
    }

    function structHash(ITelemetryAnchor.Reading calldata reading) external pure returns (bytes32) {
        return Readings.structHash(reading);
    }

    function leaf(ITelemetryAnchor.Reading calldata reading) external pure returns (bytes32) {
        return Readings.leaf(reading);
    }

    function verify(bytes32[] calldata proof, bytes32 root, bytes32 leafHash) external pure returns (bool) {
        return MerkleProof.verifyCalldata(proof, root, leafHash);
    }

    function multiProofVerify(
        bytes32[] calldata proof,
        bool[] calldata proofFlags,
        bytes32 root,
        bytes32[] calldata leaves
    ) external pure returns (bool) {
        return MerkleProof.multiProofVerifyCalldata(proof, proofFlags, root, leaves);
    }
}
