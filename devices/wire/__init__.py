"""Wire formats the controller and the devices both speak, kept in one place.

- :mod:`.merkle`: RFC 9162 hashing and inclusion/consistency proof verification.
- :mod:`.envelope`: the device-signed record envelope and its canonical encoding.
- :mod:`.block`: the ledger's hash-chained, node-signed block header.
- :mod:`.note`: C2SP signed notes, checkpoints and note keys.
- :mod:`.cosignature`: C2SP witness cosignatures (cosignature/v1) and the k-of-n policy.
- :mod:`.ed25519`: raw-byte Ed25519 keys used by both of the above.
- :mod:`.errors`: one exception type per reason for refusing any of them.
"""

from .block import BlockHeader, SignedBlock, verify_link
from .cosignature import CosignatureSigner, CosignatureVerifier, Cosigned, require_cosignatures
from .ed25519 import PrivateKey, PublicKey
from .envelope import RecordEnvelope, SignedRecord, payload_digest
from .errors import (
    BlockError,
    BlockFieldError,
    BlockFormatError,
    BlockLinkError,
    BlockSignatureInvalid,
    CosignatureInvalid,
    EnvelopeError,
    EnvelopeFieldError,
    EnvelopeFormatError,
    HashSizeError,
    IndexOutOfRange,
    NoteError,
    NoteFormatError,
    NoteSignatureInvalid,
    NoteUnverified,
    OriginMismatch,
    ProofError,
    ProofLengthError,
    QuorumNotMet,
    RootMismatch,
    SignatureInvalid,
    TreeSizeError,
    WireError,
)
from .merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from .note import (
    Checkpoint,
    Ed25519Signer,
    Ed25519Verifier,
    Note,
    NoteSignature,
    Verifier,
    open_checkpoint,
    open_note,
    parse_note,
    sign_checkpoint,
    sign_note,
)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "BlockError",
    "BlockFieldError",
    "BlockFormatError",
    "BlockHeader",
    "BlockLinkError",
    "BlockSignatureInvalid",
    "Checkpoint",
    "CosignatureInvalid",
    "CosignatureSigner",
    "CosignatureVerifier",
    "Cosigned",
    "Ed25519Signer",
    "Ed25519Verifier",
    "EnvelopeError",
    "EnvelopeFieldError",
    "EnvelopeFormatError",
    "HashSizeError",
    "IndexOutOfRange",
    "Note",
    "NoteError",
    "NoteFormatError",
    "NoteSignature",
    "NoteSignatureInvalid",
    "NoteUnverified",
    "OriginMismatch",
    "PrivateKey",
    "ProofError",
    "ProofLengthError",
    "PublicKey",
    "QuorumNotMet",
    "RecordEnvelope",
    "RootMismatch",
    "SignatureInvalid",
    "SignedBlock",
    "SignedRecord",
    "TreeSizeError",
    "Verifier",
    "WireError",
    "leaf_hash",
    "node_hash",
    "open_checkpoint",
    "open_note",
    "parse_note",
    "payload_digest",
    "require_cosignatures",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "sign_checkpoint",
    "sign_note",
    "verify_consistency",
    "verify_inclusion",
    "verify_link",
]
