// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IDeviceRegistry} from "../contracts/registry/IDeviceRegistry.sol";
import {IPaymentChannels} from "../contracts/payments/IPaymentChannels.sol";
import {PaymentChannels} from "../contracts/payments/PaymentChannels.sol";
import {DeviceRegistryHarness} from "../contracts/mocks/DeviceRegistryHarness.sol";
import {RevertingReceiver} from "../contracts/mocks/RevertingReceiver.sol";
import {MockToken} from "../contracts/mocks/tokens/MockToken.sol";
import {MockUSDC} from "../contracts/mocks/tokens/MockUSDC.sol";
import {FallbackToken} from "../contracts/mocks/tokens/FallbackToken.sol";
import {Cheats, InvariantTest} from "./Base.sol";

/// @dev Drives every external function of PaymentChannels: ETH and ERC-20 channels of three payers (one a
/// contract that refuses ETH) to two payees (one refusing ETH), vouchers of registered device keys, relayed
/// opens (with permit or EIP-3009), claims of many channels at once, reopens of an existing id, closes and
/// starts of close, finalize, withdraw, signer revocation and time travel. Salts come from a small range, so
/// that opens of equal terms collide and must fail.
contract ChannelsHandler is Cheats {
    DeviceRegistryHarness public immutable registry;
    PaymentChannels public immutable channels;
    MockToken public immutable token;
    MockUSDC public immutable usdc;
    RevertingReceiver public immutable refuser;
    uint256 internal constant SIGNERS = 3;
    uint256 internal constant DEADLINE = 4_000_000_000;
    bytes32 internal constant VOUCHER = keccak256("Voucher(uint256 channelId,uint256 amount)");
    bytes32 internal constant OPEN = keccak256(
        "OpenChannel(address funder,address payee,address signer,address token,uint256 amount,uint256 cap,uint256 expiry,bytes32 salt,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant CLOSE = keccak256(
        "CloseChannel(uint256 channelId,uint256 amount,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant START_CLOSE = keccak256("StartClose(uint256 channelId,uint256 nonce,uint256 deadline)");
    bytes32 internal constant RECEIVE = keccak256(
        "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );
    bytes32 internal constant PERMIT = keccak256(
        "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
    );

    uint256[2] internal payerKeys = [uint256(0xBA1), 0xBA2];
    uint256[1] internal payeeKeys = [uint256(0xEE1)];
    address[3] public payers;
    address[2] public payees;

    struct Ghost {
        IPaymentChannels.ChannelTerms terms;
        uint256 channelId;
        uint96 deposit;
        uint96 paid;
        bool closed;
        uint48 closesAt;
        uint96 lastVoucher;
        bytes lastSignature;
    }

    Ghost[] internal _ghosts;
    uint256 public replaySuccesses;
    uint256 public signerInvalidAtOpen;
    uint256 public reopenSuccesses;
    uint256 public claimOverpaid;
    /// @dev N-L2: authorization opens whose deposit differs from the authorized amount (must stay 0).
    uint256 public authorizationMismatches;
    /// @dev A token without EIP-3009 whose fallback accepts any call (WETH9-style).
    FallbackToken public fallbackToken;

    constructor() {
        registry = new DeviceRegistryHarness(address(this));
        channels = new PaymentChannels(registry, 1 hours);
        token = new MockToken();
        usdc = new MockUSDC();
        fallbackToken = new FallbackToken();
        refuser = new RevertingReceiver();
        registry.grantRole(registry.MANUFACTURER_ROLE(), address(this));
        for (uint256 i = 0; i < SIGNERS; ++i) {
            uint256 pk = 0x3000 + i;
            address key = vm.addr(pk);
            bytes32 structHash = keccak256(
                abi.encode(registry.typeHashes()[0], key, address(this), address(this), uint256(0), DEADLINE)
            );
            registry.register(
                IDeviceRegistry.Registration(
                    key,
                    address(this),
                    bytes32(0),
                    "",
                    DEADLINE,
                    _sign(pk, registry.hashTypedData(structHash))
                )
            );
        }
        payers = [vm.addr(payerKeys[0]), vm.addr(payerKeys[1]), address(refuser)];
        payees = [vm.addr(payeeKeys[0]), address(refuser)];
        for (uint256 i = 0; i < 3; ++i) {
            vm.deal(payers[i], 1_000 ether);
            token.mint(payers[i], 1_000_000 ether);
            usdc.mint(payers[i], 1_000_000 ether);
        }
    }

    function count() external view returns (uint256) {
        return _ghosts.length;
    }

    function ghost(uint256 i) external view returns (Ghost memory) {
        return _ghosts[i];
    }

    function _signerKey(address signer) internal pure returns (uint256) {
        for (uint256 i = 0; i < SIGNERS; ++i) if (vm.addr(0x3000 + i) == signer) return 0x3000 + i;
        return 0;
    }

    function _payerKey(address payer) internal view returns (uint256) {
        for (uint256 i = 0; i < 2; ++i) if (payers[i] == payer) return payerKeys[i];
        return 0;
    }

    function _voucher(uint256 channelId, address signer, uint96 amount) internal view returns (bytes memory) {
        return
            _sign(
                _signerKey(signer),
                _digest("iotrail PaymentChannels", address(channels), keccak256(abi.encode(VOUCHER, channelId, amount)))
            );
    }

    function _opened(address payer, IPaymentChannels.OpenParams memory p, uint256 channelId) internal {
        IPaymentChannels.ChannelTerms memory terms = IPaymentChannels.ChannelTerms(
            payer,
            p.payee,
            p.signer,
            p.token,
            p.cap,
            p.expiry,
            p.salt
        );
        IPaymentChannels.ChannelInfo memory info = channels.getChannel(channelId);
        _ghosts.push(Ghost(terms, channelId, info.deposit, 0, false, 0, 0, ""));
    }

    function _params(
        uint256 seed,
        uint96 amount,
        bool erc20
    ) internal view returns (IPaymentChannels.OpenParams memory) {
        uint96 cap = (seed >> 16) % 3 == 0 ? 0 : uint96(amount / 2 + 1);
        uint48 expiry = (seed >> 24) % 3 == 0 ? uint48(block.timestamp + 1 + ((seed >> 32) % 2 days)) : 0;
        return
            IPaymentChannels.OpenParams(
                payees[_pick(seed, 2)],
                vm.addr(0x3000 + _pick(seed >> 8, SIGNERS)),
                erc20 ? address(token) : address(0),
                amount,
                cap,
                expiry,
                bytes32((seed >> 40) % 4)
            );
    }

    // ------------------------------------------------------------------ actions

    function open(uint256 seed, uint96 amount, bool erc20, uint256 payerSeed) external {
        amount = uint96(1 + (amount % 10 ether));
        IPaymentChannels.OpenParams memory p = _params(seed, amount, erc20);
        address payer = payers[_pick(payerSeed, 3)];
        bool signerValid = registry.validAt(p.signer, uint48(block.timestamp));
        uint256 channelId;
        bool ok;
        if (erc20) {
            vm.prank(payer);
            token.approve(address(channels), amount);
            vm.prank(payer);
            try channels.open(p) returns (uint256 id) {
                (ok, channelId) = (true, id);
            } catch {}
        } else {
            vm.prank(payer);
            try channels.open{value: amount}(p) returns (uint256 id) {
                (ok, channelId) = (true, id);
            } catch {}
        }
        if (ok) {
            if (!signerValid) signerInvalidAtOpen += 1;
            _opened(payer, p, channelId);
        }
    }

    function openBySig(uint256 seed, uint96 amount, uint256 payerSeed) external {
        amount = uint96(1 + (amount % 10 ether));
        IPaymentChannels.OpenParams memory p = _params(seed, amount, true);
        address funder = payers[_pick(payerSeed, 2)];
        uint256 pk = _payerKey(funder);
        bytes32 openHash = keccak256(
            abi.encode(
                OPEN,
                funder,
                p.payee,
                p.signer,
                p.token,
                p.amount,
                p.cap,
                p.expiry,
                p.salt,
                channels.nonces(funder),
                DEADLINE
            )
        );
        bytes memory signature = _sign(pk, _digest("iotrail PaymentChannels", address(channels), openHash));
        bytes32 permitHash = keccak256(
            abi.encode(PERMIT, funder, address(channels), uint256(amount), token.nonces(funder), DEADLINE)
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(
            pk,
            keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), permitHash))
        );
        bool signerValid = registry.validAt(p.signer, uint48(block.timestamp));
        try channels.openBySig(funder, p, DEADLINE, signature, IPaymentChannels.Permit(DEADLINE, v, r, s)) returns (
            uint256 id
        ) {
            if (!signerValid) signerInvalidAtOpen += 1;
            _opened(funder, p, id);
        } catch {}
    }

    function topUp(uint256 channelSeed, uint96 amount) external {
        if (_ghosts.length == 0) return;
        uint256 i = _pick(channelSeed, _ghosts.length);
        Ghost storage g = _ghosts[i];
        amount = uint96(1 + (amount % 1 ether));
        address from = g.terms.payer;
        if (g.terms.token == address(0)) {
            vm.prank(from);
            try channels.topUp{value: amount}(g.terms, amount) {
                g.deposit += amount;
            } catch {}
        } else {
            vm.prank(from);
            token.approve(address(channels), amount);
            vm.prank(from);
            try channels.topUp(g.terms, amount) {
                g.deposit += amount;
            } catch {}
        }
    }

    function redeem(uint256 channelSeed, uint96 delta) external {
        if (_ghosts.length == 0) return;
        uint256 i = _pick(channelSeed, _ghosts.length);
        Ghost storage g = _ghosts[i];
        uint96 amount = g.paid + 1 + uint96(delta % 1 ether);
        bytes memory signature = _voucher(g.channelId, g.terms.signer, amount);
        try channels.redeem(g.terms, amount, signature) {
            g.paid = amount;
            (g.lastVoucher, g.lastSignature) = (amount, signature);
        } catch {}
    }

    /// @dev Replays the last redeemed voucher of a channel: it must never be accepted again.
    function replay(uint256 channelSeed) external {
        if (_ghosts.length == 0) return;
        uint256 i = _pick(channelSeed, _ghosts.length);
        Ghost storage g = _ghosts[i];
        if (g.lastVoucher == 0) return;
        try channels.redeem(g.terms, g.lastVoucher, g.lastSignature) {
            replaySuccesses += 1;
        } catch {}
    }

    function close(uint256 channelSeed, uint96 delta, bool bySig, bool withVoucher) external {
        if (_ghosts.length == 0) return;
        uint256 i = _pick(channelSeed, _ghosts.length);
        Ghost storage g = _ghosts[i];
        uint96 amount = withVoucher ? g.paid + 1 + uint96(delta % 1 ether) : 0;
        bytes memory voucher = withVoucher ? _voucher(g.channelId, g.terms.signer, amount) : bytes("");
        bool ok;
        if (bySig && g.terms.payee == payees[0]) {
            bytes32 structHash = keccak256(
                abi.encode(CLOSE, g.channelId, uint256(amount), channels.nonces(g.terms.payee), DEADLINE)
            );
            bytes memory payeeSignature = _sign(
                payeeKeys[0],
                _digest("iotrail PaymentChannels", address(channels), structHash)
            );
            try channels.closeBySig(g.terms, amount, voucher, DEADLINE, payeeSignature) {
                ok = true;
            } catch {}
        } else {
            vm.prank(g.terms.payee);
            try channels.close(g.terms, amount, voucher) {
                ok = true;
            } catch {}
        }
        if (ok) {
            if (withVoucher) g.paid = amount;
            g.closed = true;
        }
    }

    function startClose(uint256 channelSeed, bool bySig) external {
        if (_ghosts.length == 0) return;
        uint256 i = _pick(channelSeed, _ghosts.length);
        Ghost storage g = _ghosts[i];
        bool ok;
        uint256 pk = _payerKey(g.terms.payer);
        if (bySig && pk != 0) {
            bytes32 structHash = keccak256(
                abi.encode(START_CLOSE, g.channelId, channels.nonces(g.terms.payer), DEADLINE)
            );
            try
                channels.startCloseBySig(
                    g.terms,
                    DEADLINE,
                    _sign(pk, _digest("iotrail PaymentChannels", address(channels), structHash))
                )
            {
                ok = true;
            } catch {}
        } else {
            vm.prank(g.terms.payer);
            try channels.startClose(g.terms) {
                ok = true;
            } catch {}
        }
        if (ok) g.closesAt = uint48(block.timestamp) + channels.challengePeriod();
    }

    function finalize(uint256 channelSeed) external {
        if (_ghosts.length == 0) return;
        uint256 i = _pick(channelSeed, _ghosts.length);
        try channels.finalize(_ghosts[i].terms) {
            _ghosts[i].closed = true;
        } catch {}
    }

    /// @dev Opens an EIP-3009 (USDC-style) channel from one ReceiveWithAuthorization whose nonce is the id.
    function openWithAuthorization(uint256 seed, uint96 amount, uint256 payerSeed) external {
        amount = uint96(1 + (amount % 10 ether));
        IPaymentChannels.OpenParams memory p = _params(seed, amount, true);
        p.token = address(usdc);
        address funder = payers[_pick(payerSeed, 2)];
        uint256 channelId = channels.channelIdOf(
            IPaymentChannels.ChannelTerms(funder, p.payee, p.signer, p.token, p.cap, p.expiry, p.salt)
        );
        bytes32 structHash = keccak256(
            abi.encode(RECEIVE, funder, address(channels), uint256(amount), 0, DEADLINE, bytes32(channelId))
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(
            _payerKey(funder),
            keccak256(abi.encodePacked("\x19\x01", usdc.DOMAIN_SEPARATOR(), structHash))
        );
        bool signerValid = registry.validAt(p.signer, uint48(block.timestamp));
        try
            channels.openWithAuthorization(funder, p, IPaymentChannels.TransferAuthorization(0, DEADLINE, v, r, s))
        returns (uint256 id) {
            if (!signerValid) signerInvalidAtOpen += 1;
            if (channels.getChannel(id).deposit != amount) authorizationMismatches += 1;
            _opened(funder, p, id);
        } catch {}
    }

    /// @dev N-L2: anyone "opens by authorization" a funder's channel with a token that accepts any call, for
    /// any amount (zero included): it must never open a channel whose deposit is not what was authorized.
    function squat(uint256 seed, uint96 amount, uint256 payerSeed) external {
        IPaymentChannels.OpenParams memory p = _params(seed, amount % 2 == 0 ? 0 : amount, true);
        p.token = address(fallbackToken);
        address funder = payers[_pick(payerSeed, 2)];
        try
            channels.openWithAuthorization(funder, p, IPaymentChannels.TransferAuthorization(0, DEADLINE, 0, 0, 0))
        returns (uint256 id) {
            if (channels.getChannel(id).deposit != p.amount || p.amount == 0) authorizationMismatches += 1;
            _opened(funder, p, id);
        } catch {}
    }

    /// @dev Opens again with the terms of a channel already opened: it must never succeed.
    function reopen(uint256 channelSeed) external {
        if (_ghosts.length == 0) return;
        Ghost storage g = _ghosts[_pick(channelSeed, _ghosts.length)];
        if (g.terms.token != address(0)) return;
        IPaymentChannels.OpenParams memory p = IPaymentChannels.OpenParams(
            g.terms.payee,
            g.terms.signer,
            address(0),
            1,
            g.terms.cap,
            g.terms.expiry,
            g.terms.salt
        );
        vm.prank(g.terms.payer);
        try channels.open{value: 1}(p) {
            reopenSuccesses += 1;
        } catch {}
    }

    /// @dev Claims a voucher on up to four channels of payees[0] in one token at once.
    function claimMany(uint256 channelSeed, uint96 delta, bool erc20) external {
        address tokenAddress = erc20 ? address(token) : address(0);
        IPaymentChannels.VoucherClaim[] memory claims = new IPaymentChannels.VoucherClaim[](4);
        uint256[] memory picked = new uint256[](4);
        uint256 n;
        uint256 owed;
        for (uint256 k = 0; k < _ghosts.length && n < 4; ++k) {
            uint256 i = (channelSeed + k) % _ghosts.length;
            Ghost storage g = _ghosts[i];
            if (g.terms.payee != payees[0] || g.terms.token != tokenAddress || g.closed) continue;
            uint96 amount = g.paid + 1 + uint96((delta >> (8 * n)) % 1 ether);
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(
                _signerKey(g.terms.signer),
                _digest(
                    "iotrail PaymentChannels",
                    address(channels),
                    keccak256(abi.encode(VOUCHER, g.channelId, amount))
                )
            );
            claims[n] = IPaymentChannels.VoucherClaim(
                g.terms.payer,
                g.terms.signer,
                g.terms.cap,
                g.terms.expiry,
                g.terms.salt,
                amount,
                r,
                bytes32((uint256(v - 27) << 255) | uint256(s))
            );
            picked[n] = i;
            owed += amount - g.paid;
            ++n;
        }
        if (n == 0) return;
        assembly {
            mstore(claims, n)
        }
        try channels.claimMany(payees[0], tokenAddress, claims) returns (uint256 paid) {
            if (paid != owed) claimOverpaid += 1;
            for (uint256 k = 0; k < n; ++k) _ghosts[picked[k]].paid = claims[k].amount;
        } catch {}
    }

    function withdraw(uint256 accountSeed, bool erc20) external {
        address account = _pick(accountSeed, 2) == 0 ? address(refuser) : payers[_pick(accountSeed >> 8, 2)];
        vm.prank(account);
        try channels.withdraw(erc20 ? address(token) : address(0), vm.addr(0xD0)) {} catch {}
    }

    /// @dev Revoking a signer after opening voids nothing already signed (vouchers still redeem).
    function revokeSigner(uint256 signerSeed) external {
        try registry.revoke(uint160(vm.addr(0x3000 + _pick(signerSeed, SIGNERS))), 1) {} catch {}
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + (seconds_ % 2 hours));
    }
}

contract ChannelsInvariants is InvariantTest {
    ChannelsHandler internal handler;
    PaymentChannels internal channels;

    function setUp() public {
        vm.warp(1_800_000_000);
        handler = new ChannelsHandler();
        channels = handler.channels();
        bytes4[] memory selectors = new bytes4[](15);
        selectors[0] = ChannelsHandler.open.selector;
        selectors[1] = ChannelsHandler.openBySig.selector;
        selectors[2] = ChannelsHandler.topUp.selector;
        selectors[3] = ChannelsHandler.redeem.selector;
        selectors[4] = ChannelsHandler.replay.selector;
        selectors[5] = ChannelsHandler.close.selector;
        selectors[6] = ChannelsHandler.startClose.selector;
        selectors[7] = ChannelsHandler.finalize.selector;
        selectors[8] = ChannelsHandler.withdraw.selector;
        selectors[9] = ChannelsHandler.revokeSigner.selector;
        selectors[10] = ChannelsHandler.warp.selector;
        selectors[11] = ChannelsHandler.openWithAuthorization.selector;
        selectors[12] = ChannelsHandler.reopen.selector;
        selectors[13] = ChannelsHandler.claimMany.selector;
        selectors[14] = ChannelsHandler.squat.selector;
        _target(address(handler), selectors);
    }

    function _credits(address token) internal view returns (uint256 total) {
        for (uint256 i = 0; i < 3; ++i) total += channels.credited(handler.payers(i), token);
        total += channels.credited(handler.payees(0), token);
    }

    function _owed(address token) internal view returns (uint256 total) {
        for (uint256 i = 0; i < handler.count(); ++i) {
            ChannelsHandler.Ghost memory g = handler.ghost(i);
            if (g.terms.token != token || g.closed) continue;
            total += g.deposit - g.paid;
        }
    }

    /// @dev ETH held = ETH credits + what open channels still hold (deposit - paid).
    /// @dev N-L2: a channel opened by authorization holds exactly the authorized amount, never nothing.
    function invariant_authorizationDepositEqualsAuthorization() external view {
        require(
            handler.authorizationMismatches() == 0,
            "an authorization-opened deposit differs from its authorization"
        );
    }

    function invariant_ethBalanceAccounted() external view {
        require(address(channels).balance == _credits(address(0)) + _owed(address(0)), "ETH balance off");
    }

    /// @dev Token held = token credits + what open token channels still hold, for each token.
    function invariant_tokenBalanceAccounted() external view {
        address token = address(handler.token());
        require(handler.token().balanceOf(address(channels)) == _credits(token) + _owed(token), "token balance off");
        address usdc = address(handler.usdc());
        require(handler.usdc().balanceOf(address(channels)) == _credits(usdc) + _owed(usdc), "USDC balance off");
    }

    /// @dev The contract's view of every channel equals the ghost's: paid, deposit, closed.
    function invariant_channelsMatchGhost() external view {
        for (uint256 i = 0; i < handler.count(); ++i) {
            ChannelsHandler.Ghost memory g = handler.ghost(i);
            IPaymentChannels.ChannelInfo memory info = channels.getChannel(g.channelId);
            require(info.paid == g.paid, "paid differs (it only grows with accepted vouchers)");
            require(info.deposit == g.deposit, "deposit differs (it only grows with top-ups)");
            require((info.status == IPaymentChannels.ChannelStatus.Closed) == g.closed, "closed differs");
        }
    }

    /// @dev paid never exceeds the deposit, nor the cap when there is one.
    function invariant_paidWithinDepositAndCap() external view {
        for (uint256 i = 0; i < handler.count(); ++i) {
            ChannelsHandler.Ghost memory g = handler.ghost(i);
            IPaymentChannels.ChannelInfo memory info = channels.getChannel(g.channelId);
            require(info.paid <= info.deposit, "paid beyond the deposit");
            if (g.terms.cap != 0) require(info.paid <= g.terms.cap, "paid beyond the cap");
        }
    }

    /// @dev Recovery: every channel's id is the hash of its terms, so terms found on the chain give the id
    /// back, and two channels never share one.
    function invariant_idsAreTheTermsHash() external view {
        for (uint256 i = 0; i < handler.count(); ++i) {
            ChannelsHandler.Ghost memory g = handler.ghost(i);
            require(channels.channelIdOf(g.terms) == g.channelId, "an id is not its terms' hash");
            for (uint256 j = 0; j < i; ++j) require(handler.ghost(j).channelId != g.channelId, "an id opened twice");
        }
    }

    /// @dev An id opens once: opening the same terms again always fails, even after a close.
    function invariant_noReopen() external view {
        require(handler.reopenSuccesses() == 0, "an id opened twice");
    }

    /// @dev claimMany pays exactly what the vouchers add to what each channel had paid.
    function invariant_claimManyPaysWhatIsOwed() external view {
        require(handler.claimOverpaid() == 0, "claimMany paid other than owed");
    }

    /// @dev A voucher is accepted once: replays always fail.
    function invariant_noVoucherReplay() external view {
        require(handler.replaySuccesses() == 0, "a voucher was accepted twice");
    }

    /// @dev Every channel opened with a signer that was an active device key then.
    function invariant_signersValidAtOpen() external view {
        require(handler.signerInvalidAtOpen() == 0, "a channel opened with an invalid signer");
    }

    /// @dev A closing channel closes at its start time plus the challenge period, a constant in bounds.
    function invariant_challengePeriodKept() external view {
        uint48 period = channels.challengePeriod();
        require(
            period >= channels.MIN_CHALLENGE_PERIOD() && period <= channels.MAX_CHALLENGE_PERIOD(),
            "period out of bounds"
        );
        for (uint256 i = 0; i < handler.count(); ++i) {
            ChannelsHandler.Ghost memory g = handler.ghost(i);
            IPaymentChannels.ChannelInfo memory info = channels.getChannel(g.channelId);
            if (info.status == IPaymentChannels.ChannelStatus.Closing)
                require(info.closesAt == g.closesAt, "closesAt off");
        }
    }

    /// @dev A closed channel reports no close time and no status but Closed.
    function invariant_closedIsFinal() external view {
        for (uint256 i = 0; i < handler.count(); ++i) {
            ChannelsHandler.Ghost memory g = handler.ghost(i);
            if (!g.closed) continue;
            IPaymentChannels.ChannelInfo memory info = channels.getChannel(g.channelId);
            require(
                info.status == IPaymentChannels.ChannelStatus.Closed && info.closesAt == 0,
                "a closed channel moved"
            );
        }
    }
}
