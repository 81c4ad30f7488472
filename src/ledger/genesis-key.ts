/**
 * The network genesis key. A network's founding organisations each hold only their own keys,
 * so no founder can sign height 0 for all of them. The genesis transaction and block of a
 * network are instead signed with this key, whose seed is public (SHA-256 of a fixed string):
 * anyone can reproduce the signature, so it claims nothing and keeps only the format uniform.
 * Height 0 is trusted by its hash alone, which every operator pins (as with Fabric's
 * configtxgen genesis block). The key is never a member: it signs nothing above height 0.
 */
import { sha256, signingKeyFromSeed, toHex, utf8, type SigningKey } from '../crypto/index.js';

const GENESIS_KEY_SEED_TEXT = 'chartchain/genesis-key/v1';

/** The published genesis key (seed SHA-256("chartchain/genesis-key/v1")). */
export const NETWORK_GENESIS_KEY: SigningKey = signingKeyFromSeed(
  sha256(utf8(GENESIS_KEY_SEED_TEXT)),
);

/** Key id of NETWORK_GENESIS_KEY: the signer of a network's genesis transaction and the proposer of its block 0. */
export const NETWORK_GENESIS_KEY_ID: string = NETWORK_GENESIS_KEY.keyId;

/** Hex of NETWORK_GENESIS_KEY's raw public key. */
export const NETWORK_GENESIS_PUBLIC_KEY: string = toHex(NETWORK_GENESIS_KEY.publicKey);
