"""Why a proof, a record envelope or a signed note was refused: one exception type per failure.

Every class derives from :class:`WireError` (a ``ValueError``: the input is bad, not the
program), so a caller can catch the family while a test can assert the exact reason. Messages
say what was expected and what was received, in that order, so a log line is enough to act.
"""

from __future__ import annotations


class WireError(ValueError):
    """Base of every refusal in ``devices.wire``."""


# Merkle proofs (RFC 9162 §2.1.3.2 and §2.1.4.2) ------------------------------------------------


class ProofError(WireError):
    """An inclusion or consistency proof does not prove what it claims."""


class HashSizeError(ProofError):
    """A hash (leaf, root or proof element) is not exactly 32 bytes long."""


class IndexOutOfRange(ProofError):
    """A leaf index (or a tree size) falls outside the tree it is claimed for."""


class TreeSizeError(ProofError):
    """Tree sizes that no consistency proof can relate (first size 0, or first > second)."""


class ProofLengthError(ProofError):
    """The proof has more or fewer hashes than the tree shape requires."""


class RootMismatch(ProofError):
    """The root recomputed from the proof is not the root it was checked against."""


# Record envelopes --------------------------------------------------------------------------------


class EnvelopeError(WireError):
    """A record envelope that cannot be encoded or decoded."""


class EnvelopeFieldError(EnvelopeError):
    """A field value is outside what the encoding allows (length, charset, range)."""


class EnvelopeFormatError(EnvelopeError):
    """Bytes that are not a canonical encoding: bad version, truncated, or trailing bytes."""


class SignatureInvalid(EnvelopeError):
    """The Ed25519 signature does not verify under the key it was checked with."""


# Block headers --------------------------------------------------------------------------------


class BlockError(WireError):
    """A ledger block header that is refused."""


class BlockFieldError(BlockError):
    """A header field is outside what the encoding allows."""


class BlockFormatError(BlockError):
    """Bytes that are not a canonical signed block header."""


class BlockSignatureInvalid(BlockError):
    """The node's Ed25519 signature over the header does not verify."""


class BlockLinkError(BlockError):
    """A block does not follow its predecessor: wrong height, previous hash, or a tree that did not grow."""


# Signed notes and checkpoints (C2SP signed-note, tlog-checkpoint) ------------------------------


class NoteError(WireError):
    """A signed note, key or checkpoint that is refused."""


class NoteFormatError(NoteError):
    """Text that is not a well-formed signed note, checkpoint, or key encoding."""


class NoteSignatureInvalid(NoteError):
    """A signature from a known key does not verify: the whole note is rejected."""


class NoteUnverified(NoteError):
    """No signature on the note comes from a key the verifier knows."""


class OriginMismatch(NoteError):
    """A checkpoint is for another log than the one expected."""


# Witness cosignatures (C2SP tlog-cosignature) and the k-of-n policy ----------------------------


class CosignatureInvalid(NoteSignatureInvalid):
    """A cosignature by a configured witness does not verify over the checkpoint it is attached to."""


class QuorumNotMet(NoteError):
    """Fewer configured witnesses than the policy requires cosigned the checkpoint."""
