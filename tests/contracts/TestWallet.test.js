// Tests of the ERC-1271 TestWallet the registry tests rely on.
"use strict";

const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture } = require("./helpers");

const MAGIC = "0x1626ba7e";
const FAIL = "0xffffffff";

async function deployWallet() {
  const [owner, other] = await ethers.getSigners();
  const wallet = await ethers.deployContract("TestWallet", [owner.address]);
  const registry = await ethers.deployContract("ProvenanceRegistry");
  return { wallet, registry, owner, other };
}

describe("TestWallet", function () {
  it("records its owner", async function () {
    const { wallet, owner } = await loadFixture(deployWallet);
    expect(await wallet.owner()).to.equal(owner.address);
  });

  it("returns the ERC-1271 magic value for its owner's signature of a hash", async function () {
    const { wallet, owner } = await loadFixture(deployWallet);
    const hash = ethers.id("message");
    const signature = await signDigest(owner, hash);
    expect(await wallet.isValidSignature(hash, signature)).to.equal(MAGIC);
  });

  it("returns 0xffffffff for someone else's, a wrong hash or malformed bytes", async function () {
    const { wallet, owner, other } = await loadFixture(deployWallet);
    const hash = ethers.id("message");
    expect(await wallet.isValidSignature(hash, await signDigest(other, hash))).to.equal(FAIL);
    expect(await wallet.isValidSignature(ethers.id("other"), await signDigest(owner, hash))).to.equal(FAIL);
    expect(await wallet.isValidSignature(hash, "0x1234")).to.equal(FAIL);
  });

  it("reverts execute with NotOwner for anyone but the owner", async function () {
    const { wallet, registry, other } = await loadFixture(deployWallet);
    await expect(wallet.connect(other).execute(await registry.getAddress(), "0x"))
      .to.be.revertedWithCustomError(wallet, "NotOwner")
      .withArgs(other.address);
  });
});

// Hardhat's signers sign through eth_sign (prefixed); sign the raw digest with the
// node's well-known development key instead.
async function signDigest(signer, digest) {
  const accounts = require("hardhat").config.networks.hardhat.accounts;
  const index = (await ethers.getSigners()).findIndex((s) => s.address === signer.address);
  const wallet = ethers.HDNodeWallet.fromPhrase(accounts.mnemonic, accounts.passphrase, `${accounts.path}/${index}`);
  return wallet.signingKey.sign(digest).serialized;
}
