"""Signs the C2PA fixtures of this folder with a throw-away test CA (not trusted by
anyone, so readers report the manifests as untrusted).

    python make_c2pa_fixtures.py coffee-small.jpg coffee-c2pa-cawg.jpg cawg.training-mining \\
        '{"cawg.ai_generative_training":{"use":"notAllowed"},"cawg.data_mining":{"use":"constrained","constraint_info":"licence: ai@l.example"}}'
    python make_c2pa_fixtures.py awakening-excerpt.mp3 awakening-c2pa-legacy.mp3 c2pa.training-mining.v2 \\
        '{"c2pa.ai_training":{"use":"notAllowed"},"c2pa.ai_inference":{"use":"allowed"}}'
"""

# ruff: noqa
import datetime, json, sys
from cryptography import x509
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
import c2pa


def name(cn):
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tdmguard tests"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
        ]
    )


now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
ca_key = ec.generate_private_key(ec.SECP256R1())
ca = (
    x509.CertificateBuilder()
    .subject_name(name("tdmguard test CA"))
    .issuer_name(name("tdmguard test CA"))
    .public_key(ca_key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(now)
    .not_valid_after(now + datetime.timedelta(days=3650))
    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    .add_extension(
        x509.KeyUsage(
            digital_signature=False,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        ),
        critical=True,
    )
    .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
    .sign(ca_key, hashes.SHA256())
)
key = ec.generate_private_key(ec.SECP256R1())
ee = (
    x509.CertificateBuilder()
    .subject_name(name("tdmguard test signer"))
    .issuer_name(ca.subject)
    .public_key(key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(now)
    .not_valid_after(now + datetime.timedelta(days=3650))
    .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    .add_extension(
        x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        ),
        critical=True,
    )
    .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
    .add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
    )
    .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    .sign(ca_key, hashes.SHA256())
)
certs = ee.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
pkey = key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)
info = c2pa.C2paSignerInfo(alg=b"es256", sign_cert=certs, private_key=pkey, ta_url=None)
signer = c2pa.Signer.from_info(info)
src, dst, label, entries = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
manifest = {
    "claim_generator_info": [{"name": "tdmguard-tests", "version": "1"}],
    "title": "fixture",
    "assertions": [
        {
            "label": "c2pa.actions",
            "data": {
                "actions": [
                    {
                        "action": "c2pa.created",
                        "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
                    }
                ]
            },
        },
        {"label": label, "data": {"entries": entries}},
    ],
}
with c2pa.Builder(manifest) as b:
    b.sign_file(src, dst, signer)
with c2pa.Reader(dst) as r:
    print(r.json()[:1500])
