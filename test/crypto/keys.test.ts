import {execFileSync} from 'node:child_process';
import {chmodSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {decodeSignature, signFile, verifyFileSignature} from '../../src/crypto/file-signature.js';
import {writeKeyPair} from '../../src/crypto/key-files.js';
import {isExposed, readPrivateKey, readPublicKey, signBytes, verifyBytes} from '../../src/crypto/keys.js';
import {removeDir, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));
const openssl = (...args: string[]): string => execFileSync('openssl', args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});

describe('Ed25519 keys and signatures', () => {
  it('writes PEM keys OpenSSL reads, the private one 0600, and refuses to overwrite without force', () => {
    const result = writeKeyPair(join(dir, 'k1', 'private.key'), join(dir, 'k1', 'public.key'));
    expect(readFileSync(result.private_key_path, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(readFileSync(result.public_key_path, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(isExposed(result.private_key_path)).toBe(false);
    expect(openssl('pkey', '-in', result.private_key_path, '-noout', '-text')).toMatch(/ED25519 Private-Key/);
    const derivedPublic = openssl('pkey', '-in', result.private_key_path, '-pubout');
    expect(derivedPublic).toBe(readFileSync(result.public_key_path, 'utf8'));
    expect(() => writeKeyPair(result.private_key_path, result.public_key_path)).toThrow(/already exist/);
    const replaced = writeKeyPair(result.private_key_path, result.public_key_path, {force: true});
    expect(replaced.overwritten).toBe(true);
    expect(replaced.key_id).not.toBe(result.key_id);
  });

  it('OpenSSL verifies our signature (raw and armored input)', () => {
    const keys = writeKeyPair(join(dir, 'k2', 'private.key'), join(dir, 'k2', 'public.key'));
    const file = join(dir, 'data.bin');
    writeFileSync(file, Buffer.from('important audit data\n\u0000\u00ff'));
    const signed = signFile(file, readPrivateKey(keys.private_key_path));
    expect(readFileSync(signed.signature_file).length).toBe(64);
    expect(openssl('pkeyutl', '-verify', '-pubin', '-inkey', keys.public_key_path, '-rawin', '-in', file, '-sigfile', signed.signature_file)).toMatch(
      /Signature Verified Successfully/,
    );
    const armored = signFile(file, readPrivateKey(keys.private_key_path), {output: join(dir, 'data.asc'), armor: true});
    expect(decodeSignature(readFileSync(armored.signature_file))).toEqual(new Uint8Array(readFileSync(signed.signature_file)));
  });

  it('accepts keys from openssl genpkey and signatures from openssl pkeyutl -sign -rawin', () => {
    const privatePath = join(dir, 'ossl.key');
    const publicPath = join(dir, 'ossl.pub');
    openssl('genpkey', '-algorithm', 'ed25519', '-out', privatePath);
    openssl('pkey', '-in', privatePath, '-pubout', '-out', publicPath);
    const file = join(dir, 'ossl.txt');
    writeFileSync(file, 'signed by openssl');
    openssl('pkeyutl', '-sign', '-inkey', privatePath, '-rawin', '-in', file, '-out', `${file}.sig`);
    const publicKey = readPublicKey(publicPath);
    expect(verifyFileSignature(file, `${file}.sig`, publicKey).valid).toBe(true);
    // Our signature with OpenSSL's key is byte-identical to OpenSSL's own (Ed25519 is deterministic).
    const ours = signFile(file, readPrivateKey(privatePath), {output: join(dir, 'ours.sig')});
    expect(readFileSync(ours.signature_file)).toEqual(readFileSync(`${file}.sig`));
    writeFileSync(file, 'signed by openssl!');
    expect(verifyFileSignature(file, `${file}.sig`, publicKey)).toMatchObject({valid: false});
  });

  it('refuses non-Ed25519 and non-PEM key files with KEY_INVALID', () => {
    const rsa = join(dir, 'rsa.key');
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', rsa);
    expect(() => readPrivateKey(rsa)).toThrow(/not Ed25519/);
    const junk = join(dir, 'junk.key');
    writeFileSync(junk, 'not a key');
    expect(() => readPrivateKey(junk)).toThrow(expect.objectContaining({code: 'KEY_INVALID'}));
    expect(() => readPublicKey(junk)).toThrow(expect.objectContaining({code: 'KEY_INVALID'}));
  });

  it('flags a private key readable by others', () => {
    const keys = writeKeyPair(join(dir, 'k3', 'private.key'), join(dir, 'k3', 'public.key'));
    chmodSync(keys.private_key_path, 0o644);
    expect(isExposed(keys.private_key_path)).toBe(true);
  });

  it('a wrong-length or tampered signature is false, not an exception', () => {
    const keys = writeKeyPair(join(dir, 'k4', 'private.key'), join(dir, 'k4', 'public.key'));
    const key = readPrivateKey(keys.private_key_path);
    const message = new TextEncoder().encode('m');
    const signature = signBytes(key, message);
    expect(verifyBytes(key.publicKey, message, signature)).toBe(true);
    expect(verifyBytes(key.publicKey, message, signature.slice(1))).toBe(false);
    const flipped = signature.slice();
    flipped[10] = (flipped[10] as number) ^ 1;
    expect(verifyBytes(key.publicKey, message, flipped)).toBe(false);
  });
});

describe('SignatureManager (the reference API type)', () => {
  it('signs with the private key file and verifies with the public one', async () => {
    const {SignatureManager} = await import('../../src/crypto/signature-manager.js');
    const keys = writeKeyPair(join(dir, 'sm', 'private.key'), join(dir, 'sm', 'public.key'));
    const manager = new SignatureManager({private_key_path: keys.private_key_path, public_key_path: keys.public_key_path});
    const data = new TextEncoder().encode('important audit data');
    const signature = manager.sign(data);
    expect(manager.verify(data, signature)).toBe(true);
    expect(manager.verify(new TextEncoder().encode('other data'), signature)).toBe(false);
    expect(manager.keyId).toBe(keys.key_id);
    const missing = new SignatureManager({private_key_path: join(dir, 'none.key'), public_key_path: join(dir, 'none.pub')});
    expect(() => missing.sign(data)).toThrow(expect.objectContaining({code: 'KEY_UNREADABLE'}));
  });
});
