"""theta_sim.certs -- a throwaway test CA and one server certificate.

Made with the ``openssl`` command line at start (EC P-256 keys, so it
takes a few tens of milliseconds).  One leaf certificate covers every
production host name the simulator impersonates; the client trusts only
``ca.pem`` and reaches 127.0.0.1 through a connect-to mapping, so TLS
name checks run against the real names.

Dedicated endpoints live two labels below the zone
(``<name>-<hex>.tec-s1.onthetaedgecloud.com``) and a wildcard matches one
label only, so ``*.tec-sN.onthetaedgecloud.com`` is listed for N 1..40
next to ``*.onthetaedgecloud.com``.
"""
import os
import secrets
import subprocess

HOST_NAMES = [
    "ondemand.thetaedgecloud.com",
    "controller.thetaedgecloud.com",
    "api.thetaedgecloud.com",
    "*.onthetaedgecloud.com",
    "ondemand-outputs.thetaedgecloud.com",
    "storage.googleapis.com",
    "api.thetavideoapi.com",
]
DEDICATED_SHARDS = 40

CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
O = clawhost tests
CN = theta_sim test CA
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
subjectAltName = @alt
[alt]
"""


def san_names(extra=()):
    names = list(HOST_NAMES)
    names += ["*.tec-s%d.onthetaedgecloud.com" % n
              for n in range(1, DEDICATED_SHARDS + 1)]
    names += ["localhost"]
    for name in extra:
        if name and name not in names:
            names.append(name)
    return names


def _run(args, cwd):
    proc = subprocess.run(["openssl", *args], cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (
            args[0], proc.stderr.decode(errors="replace").strip()))


def make(directory, extra_names=()):
    """Write ca.pem, ca.key, server.pem, server.key into ``directory``;
    return (ca_path, cert_path, key_path)."""
    alt = ["DNS.%d = %s" % (i + 1, n)
           for i, n in enumerate(san_names(extra_names))]
    alt.append("IP.1 = 127.0.0.1")
    cnf = os.path.join(directory, "openssl.cnf")
    with open(cnf, "w") as f:
        f.write(CONFIG + "\n".join(alt) + "\n")
    ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
    _run(["genpkey", *ec, "-out", "ca.key"], directory)
    _run(["req", "-x509", "-new", "-config", cnf, "-extensions", "v3_ca",
          "-key", "ca.key", "-sha256", "-days", "7",
          "-subj", "/O=clawhost tests/CN=theta_sim test CA %s"
          % secrets.token_hex(4), "-out", "ca.pem"], directory)
    _run(["genpkey", *ec, "-out", "server.key"], directory)
    _run(["req", "-new", "-config", cnf, "-key", "server.key",
          "-subj", "/CN=ondemand.thetaedgecloud.com", "-out", "server.csr"],
         directory)
    _run(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem",
          "-CAkey", "ca.key", "-set_serial", "0x" + secrets.token_hex(8),
          "-days", "7", "-sha256", "-extfile", cnf, "-extensions", "v3_leaf",
          "-out", "server.pem"], directory)
    for name in ("ca.key", "server.key"):
        os.chmod(os.path.join(directory, name), 0o600)
    return (os.path.join(directory, "ca.pem"),
            os.path.join(directory, "server.pem"),
            os.path.join(directory, "server.key"))
