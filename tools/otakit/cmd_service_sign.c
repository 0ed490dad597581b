/* otakit service sign|verify: the publisher's side of signed manifests (docs/manifest.md).
 * sign writes MANIFEST.sig, the detached ECDSA P-256 signature (DER) of the manifest's
 * exact bytes; verify checks one the way a device does (the signature, then the form of
 * manifest_version and expires), without a device. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "pem_key.h"
#include "service_cli.h"

static const char USAGE[] =
    "usage: otakit service sign --key KEY.pem MANIFEST [-o SIG]\n"
    "       otakit service verify --key KEY.pem MANIFEST [--sig SIG]\n\n"
    "sign: write the detached signature of MANIFEST (ECDSA P-256 over SHA-256 of its exact\n"
    "bytes, DER, as `openssl dgst -sha256 -sign KEY.pem` writes it) to SIG, by default\n"
    "MANIFEST.sig: publish it beside the manifest. KEY.pem: a P-256 private key\n"
    "(`openssl ecparam -name prime256v1 -genkey -noout -out KEY.pem`).\n\n"
    "verify: check MANIFEST against SIG (default MANIFEST.sig) with KEY.pem (the public key\n"
    "or the private one), and that it carries manifest_version and an expires time still\n"
    "ahead, as a device with this key requires. A device gets the key with\n"
    "`otakit device config FLASH --manifest-key KEY.pem`.\n\n"
    "exit: 0 signed / verified; 1 the key, the manifest or the signature is wrong; 2 wrong\n"
    "arguments.\n";

typedef struct {
    const char *key;
    const char *manifest;
    const char *sig;
    char sig_default[4096];
} sign_opts_t;

static int parse_opts(int argc, char **argv, bool sign, sign_opts_t *o)
{
    static const struct option longopts[] = {{"key", required_argument, NULL, 'k'},
                                             {"sig", required_argument, NULL, 's'},
                                             {"output", required_argument, NULL, 'o'},
                                             {NULL, 0, NULL, 0}};
    const char *cmd = sign ? "service sign" : "service verify";
    memset(o, 0, sizeof *o);
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        if (c == 'k') {
            o->key = optarg;
        } else if ((c == 'o' && sign) || (c == 's' && !sign)) {
            o->sig = optarg;
        } else {
            return cli_usage_error(cmd, "unknown option");
        }
    }
    if (argc - optind != 1 || o->key == NULL) {
        return cli_usage_error(cmd, "takes --key KEY.pem MANIFEST");
    }
    o->manifest = argv[optind];
    if (o->sig == NULL) {
        int n = snprintf(o->sig_default, sizeof o->sig_default, "%s%s", o->manifest,
                         OTK_MANIFEST_SIG_SUFFIX);
        if (n < 0 || (size_t)n >= sizeof o->sig_default) {
            return cli_usage_error(cmd, "MANIFEST: path too long");
        }
        o->sig = o->sig_default;
    }
    return -1;
}

static int sign_manifest(const sign_opts_t *o)
{
    uint8_t *text = NULL;
    size_t len = 0;
    if (!cli_read_file(o->manifest, OTK_MANIFEST_TEXT_MAX, &text, &len)) {
        return CLI_EXIT_FAIL;
    }
    uint8_t der[OTK_MANIFEST_SIG_DER_MAX];
    size_t der_len = 0;
    otk_diag_t why;
    otk_diag_clear(&why);
    bool ok = pem_p256_sign(o->key, text, len, der, &der_len, &why);
    free(text);
    if (!ok) {
        return cli_error("%s", why.msg);
    }
    if (!cli_write_file(o->sig, der, der_len)) {
        return CLI_EXIT_FAIL;
    }
    printf("Wrote %s: ECDSA P-256 signature of %s (%zu bytes signed)\n", o->sig, o->manifest,
           len);
    return CLI_EXIT_OK;
}

static int verify_manifest(const sign_opts_t *o)
{
    uint8_t key[OTK_MANIFEST_KEY_LEN];
    otk_diag_t why;
    otk_diag_clear(&why);
    if (!pem_p256_public(o->key, key, &why)) {
        return cli_error("%s", why.msg);
    }
    uint8_t *text = NULL, *sig = NULL;
    size_t len = 0, sig_len = 0;
    if (!cli_read_file(o->manifest, OTK_MANIFEST_TEXT_MAX, &text, &len)) {
        return CLI_EXIT_FAIL;
    }
    if (!cli_read_file(o->sig, OTK_MANIFEST_SIG_DER_MAX, &sig, &sig_len)) {
        free(text);
        return CLI_EXIT_FAIL;
    }
    esp_err_t err = otk_manifest_verify((const char *)text, len, sig, sig_len, key, &why);
    otk_manifest_t *m = NULL;
    static char base[OTK_URI_MAX + 1]; /* relative node URIs resolve against the file */
    if (err == ESP_OK && !svc_cli_manifest_uri(o->manifest, base, sizeof base, &why)) {
        err = ESP_ERR_INVALID_ARG;
    }
    if (err == ESP_OK) {
        err = otk_manifest_parse((const char *)text, len, base, &m, &why);
    }
    otk_manifest_trust_t trust = {.key = key, .now = (int64_t)time(NULL)};
    uint8_t sha[OTK_SHA256_LEN];
    otk_sha256(text, len, sha);
    if (err == ESP_OK) {
        err = otk_manifest_check_fresh(m, sha, &trust, &why);
    }
    free(text);
    free(sig);
    if (err != ESP_OK) {
        otk_manifest_free(m);
        return cli_error("%s: %s", o->manifest, why.msg);
    }
    char expires[OTK_RFC3339_LEN];
    printf("%s: signature valid (%s); manifest_version %llu, expires %s\n", o->manifest, o->sig,
           (unsigned long long)m->manifest_version, otk_rfc3339_format(m->expires, expires));
    otk_manifest_free(m);
    return CLI_EXIT_OK;
}

int cmd_service_sign(int argc, char **argv)
{
    bool sign = strcmp(argv[0], "sign") == 0;
    if (cli_wants_help(argc, argv)) {
        fputs(USAGE, stdout);
        return CLI_EXIT_OK;
    }
    sign_opts_t o;
    int rc = parse_opts(argc, argv, sign, &o);
    if (rc >= 0) {
        return rc;
    }
    return sign ? sign_manifest(&o) : verify_manifest(&o);
}
