/* Fuzz the device side of the control path behind the decoders: what the handler does with
 * the messages a host sends (fuzz_frame covers the frames and the protobuf decoding).
 * The input is a program of requests to a simulated device (a memory copy of one flash
 * image per input, in a temp dir for the session file). Byte 0: bit 0 the link needs the
 * token (TCP), bit 1 the image given to Begin is damaged. Then operations, each an opcode
 * byte and its arguments (missing bytes are 0):
 *   raw protobuf bytes; Hello; Auth with the right or a wrong MAC; Begin of the image (size
 *   and hash right or fuzzed, a fuzzed chunk size); Write of image bytes at the next offset,
 *   a fuzzed one or one near 4 GiB, with a right or wrong CRC; End; Abort; Status;
 *   Activate, Confirm, Rollback, Reboot with fuzzed delays; time passing (reboots that
 *   come due happen); the link dropping and a new host connecting.
 * Properties: nothing crashes or leaks; every request gets one response that decodes and
 * carries its id; an unauthenticated link on a token device never erases or programs
 * flash; the running slot's bytes do not change while it runs (until a reboot). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hosted/hosted_internal.h"
#include "otakit/crc32.h"
#include "otakit/device_run.h"
#include "otakit/hosted.h"
#include "otakit/image.h"
#include "otakit/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A small layout (a fresh memory copy per input must be cheap): 64 KiB app slots. */
static const char CSV[] = "otadata, data, ota,     0xd000,  0x2000\n"
                          "factory, app,  factory, 0x10000, 0x10000\n"
                          "ota_0,   app,  ota_0,   0x20000, 0x10000\n"
                          "ota_1,   app,  ota_1,   0x30000, 0x10000\n";
#define FLASH_SIZE 0x40000u
#define TABLE_AT 0x8000u
#define PAYLOAD_LEN 6000u
#define IMAGE_MAX 0x4000u
#define TOKEN "fuzz-token"
#define MAX_OPS 64
#define RAW_MAX 512u
#define OP_COUNT 14

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "fuzz_hosted_handler: %s (line %d)\n", #cond, __LINE__);     \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

static char flash_path[128];
static otk_device_run_t master;
static uint8_t image[IMAGE_MAX], damaged[IMAGE_MAX];
static size_t image_len;

/* Input reader: bytes past the end read as 0. */
typedef struct {
    const uint8_t *p;
    size_t n, at;
} in_t;

static uint8_t u8(in_t *in)
{
    return in->at < in->n ? in->p[in->at++] : 0;
}

static uint32_t u32(in_t *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        v |= (uint32_t)u8(in) << (8 * i);
    }
    return v;
}

static void make_image(void)
{
    static uint8_t payload[PAYLOAD_LEN];
    for (size_t i = 0; i < sizeof payload; i++) {
        payload[i] = (uint8_t)(i * 131u + 7u);
    }
    otk_image_app_fields_t app;
    memset(&app, 0, sizeof app);
    app.project_name = "fuzz";
    app.version = "2.0.0";
    otk_image_build_opts_t o;
    otk_image_build_opts_init(&o, ESP_CHIP_ID_ESP32C3);
    o.app = &app;
    o.payload = payload;
    o.payload_len = sizeof payload;
    CHECK(otk_image_build(&o, image, sizeof image, &image_len, NULL) == ESP_OK);
    memcpy(damaged, image, image_len);
    damaged[image_len / 2] ^= 0x10; /* the checksum and the hash no longer hold */
}

static char dir_path[96];

/* The temp dir goes when the process ends (libFuzzer and the replay driver both exit()). */
static void remove_device(void)
{
    static const char *const suffixes[] = {"", ".device", OTK_HOSTED_SESSION_SUFFIX};
    otk_device_run_close(&master);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char path[160];
        snprintf(path, sizeof path, "%s%s", flash_path, suffixes[i]);
        unlink(path);
    }
    rmdir(dir_path);
}

/* The device, once: a flash file with the table and a factory app, and its device file. */
static void make_device(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir_path, sizeof dir_path, "%s/otakit-fuzz-XXXXXX", base);
    CHECK(mkdtemp(dir_path) != NULL);
    snprintf(flash_path, sizeof flash_path, "%s/dev.bin", dir_path);
    otk_partition_gen_opts_t opts;
    otk_partition_gen_opts_default(&opts);
    static otk_partition_table_t table;
    CHECK(otk_partition_csv_compile(CSV, strlen(CSV), &opts, &table, NULL, NULL) == ESP_OK);
    otk_flash_t *f = NULL;
    CHECK(otk_flash_file_create(flash_path, FLASH_SIZE, &f) == ESP_OK);
    CHECK(otk_partition_table_write(f, TABLE_AT, &table, true, NULL) == ESP_OK);
    CHECK(otk_flash_program(f, 0x10000, image, image_len) == ESP_OK);
    otk_flash_destroy(f);
    char path[160];
    snprintf(path, sizeof path, "%s.device", flash_path);
    FILE *out = fopen(path, "w");
    CHECK(out != NULL);
    fputs("chip = esp32c3\nrollback = on\n", out);
    fclose(out);
    CHECK(otk_device_run_open(&master, flash_path, NULL, NULL) == ESP_OK);
    atexit(remove_device);
}

typedef struct {
    otk_hosted_handler_t h;
    otk_hosted_peer_t peer;
    uint64_t now;
    uint32_t id;
    bool damaged;
} world_t;

/* Handle one request; check the response. */
static void send(world_t *w, Otkctrl__Request *q)
{
    static uint8_t req[OTK_FRAME_MAX_PAYLOAD], resp[OTK_FRAME_MAX_PAYLOAD];
    q->id = ++w->id;
    size_t n = otkctrl__request__get_packed_size(q);
    if (n > sizeof req) {
        return; /* a host could not frame it */
    }
    otkctrl__request__pack(q, req);
    bool guarded = w->peer.auth_required && !w->peer.authenticated;
    uint64_t ops = w->h.run->flash->physical_ops;
    bool closed = false;
    size_t m = otk_hosted_handle(&w->h, &w->peer, req, n, w->now, resp, sizeof resp, &closed);
    CHECK(m > 0 && m <= sizeof resp);
    Otkctrl__Response *r = otkctrl__response__unpack(NULL, m, resp);
    CHECK(r != NULL);
    CHECK(r->id == q->id);
    otkctrl__response__free_unpacked(r, NULL);
    if (guarded && !w->peer.authenticated) {
        CHECK(w->h.run->flash->physical_ops == ops);
    }
    if (closed) {
        otk_hosted_handler_link_down(&w->h, &w->peer);
        otk_hosted_peer_init(&w->peer, w->peer.auth_required);
    }
}

static void raw(world_t *w, in_t *in)
{
    static uint8_t resp[OTK_FRAME_MAX_PAYLOAD];
    size_t n = u8(in) % RAW_MAX;
    n = n < in->n - in->at ? n : in->n - in->at;
    bool closed = false;
    size_t m = otk_hosted_handle(&w->h, &w->peer, in->p + in->at, n, w->now, resp, sizeof resp,
                                 &closed);
    in->at += n;
    CHECK(m > 0 && m <= sizeof resp);
    Otkctrl__Response *r = otkctrl__response__unpack(NULL, m, resp);
    CHECK(r != NULL);
    otkctrl__response__free_unpacked(r, NULL);
}

static void auth(world_t *w, bool right)
{
    uint8_t mac[OTK_HOSTED_SHA256_LEN];
    hosted_hmac_sha256(right ? TOKEN : "guess", strlen(right ? TOKEN : "guess"), w->peer.nonce,
                       sizeof w->peer.nonce, mac);
    Otkctrl__Auth a = OTKCTRL__AUTH__INIT;
    a.mac.data = mac;
    a.mac.len = sizeof mac;
    Otkctrl__Request q = OTKCTRL__REQUEST__INIT;
    q.body_case = OTKCTRL__REQUEST__BODY_AUTH;
    q.auth = &a;
    send(w, &q);
}

static void begin(world_t *w, in_t *in)
{
    uint8_t how = u8(in);
    const uint8_t *img = w->damaged ? damaged : image;
    uint8_t sha[OTK_HOSTED_SHA256_LEN];
    otk_sha256(img, image_len, sha);
    Otkctrl__Begin b = OTKCTRL__BEGIN__INIT;
    b.image_size = (how & 1) ? u32(in) : (uint32_t)image_len;
    if (how & 2) {
        sha[u8(in) % sizeof sha] ^= 1;
    }
    b.sha256.data = sha;
    b.sha256.len = (how & 4) ? u8(in) % (sizeof sha + 1) : sizeof sha;
    b.chunk_size = (how & 8) ? u32(in) : 0;
    Otkctrl__Request q = OTKCTRL__REQUEST__INIT;
    q.body_case = OTKCTRL__REQUEST__BODY_BEGIN;
    q.begin = &b;
    send(w, &q);
}

static void write_op(world_t *w, in_t *in)
{
    static uint8_t buf[OTK_HOSTED_MAX_CHUNK + 1];
    uint8_t how = u8(in);
    uint32_t offset = w->h.session.written;
    if (how & 1) {
        offset = u32(in);
    } else if (how & 2) {
        offset = 0xFFFFFFFFu - (uint32_t)u8(in);
    }
    uint32_t len = (how & 4) ? u32(in) % (sizeof buf + 1) : 1u + (uint32_t)(u8(in) * 64u);
    if ((how & 0x10) == 0 && offset < image_len && len > image_len - offset) {
        len = (uint32_t)(image_len - offset); /* a host's last chunk ends with the image */
    }
    const uint8_t *img = w->damaged ? damaged : image;
    for (uint32_t i = 0; i < len; i++) {
        uint64_t at = (uint64_t)offset + i;
        buf[i] = at < image_len ? img[at] : 0xFF;
    }
    Otkctrl__Write wr = OTKCTRL__WRITE__INIT;
    wr.offset = offset;
    wr.data.data = buf;
    wr.data.len = len;
    wr.crc32 = otk_crc32_update(0, buf, len) ^ ((how & 8) ? 1u : 0u);
    Otkctrl__Request q = OTKCTRL__REQUEST__INIT;
    q.body_case = OTKCTRL__REQUEST__BODY_WRITE;
    q.write = &wr;
    send(w, &q);
}

/* A request without arguments, or with a reboot delay. */
static void simple(world_t *w, int which, uint32_t delay)
{
    Otkctrl__Hello hello = OTKCTRL__HELLO__INIT;
    Otkctrl__End end = OTKCTRL__END__INIT;
    Otkctrl__Abort ab = OTKCTRL__ABORT__INIT;
    Otkctrl__Status st = OTKCTRL__STATUS__INIT;
    Otkctrl__Activate act = OTKCTRL__ACTIVATE__INIT;
    Otkctrl__Confirm co = OTKCTRL__CONFIRM__INIT;
    Otkctrl__Rollback rb = OTKCTRL__ROLLBACK__INIT;
    Otkctrl__Reboot re = OTKCTRL__REBOOT__INIT;
    act.reboot_delay_ms = rb.reboot_delay_ms = re.reboot_delay_ms = delay;
    hello.protocol = 1;
    hello.client = "fuzz";
    Otkctrl__Request q = OTKCTRL__REQUEST__INIT;
    switch (which) {
    case 0: q.body_case = OTKCTRL__REQUEST__BODY_HELLO; q.hello = &hello; break;
    case 1: q.body_case = OTKCTRL__REQUEST__BODY_END; q.end = &end; break;
    case 2: q.body_case = OTKCTRL__REQUEST__BODY_ABORT; q.abort = &ab; break;
    case 3: q.body_case = OTKCTRL__REQUEST__BODY_STATUS; q.status = &st; break;
    case 4: q.body_case = OTKCTRL__REQUEST__BODY_ACTIVATE; q.activate = &act; break;
    case 5: q.body_case = OTKCTRL__REQUEST__BODY_CONFIRM; q.confirm = &co; break;
    case 6: q.body_case = OTKCTRL__REQUEST__BODY_ROLLBACK; q.rollback = &rb; break;
    default: q.body_case = OTKCTRL__REQUEST__BODY_REBOOT; q.reboot = &re; break;
    }
    send(w, &q);
}

/* SHA-256 of the running slot. */
static void running_hash(otk_device_run_t *run, uint8_t out[OTK_SHA256_LEN])
{
    static uint8_t buf[0x10000];
    const esp_partition_t *p = run->dev.running;
    CHECK(p != NULL && p->size <= sizeof buf);
    CHECK(otk_partition_read(p, 0, buf, p->size) == ESP_OK);
    otk_sha256(buf, p->size, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (flash_path[0] == '\0') {
        otk_log_set_level(OTK_LOG_NONE);
        make_image();
        make_device();
    }
    in_t in = {data, size, 0};
    uint8_t cfg = u8(&in);
    static otk_device_run_t run;
    static world_t w;
    memset(&w, 0, sizeof w);
    char session[160];
    snprintf(session, sizeof session, "%s%s", flash_path, OTK_HOSTED_SESSION_SUFFIX);
    unlink(session); /* each input starts without a saved session */
    /* OTAKIT_FUZZ_LOG=1 shows the device's log: what an input of the corpus does. */
    FILE *log = getenv("OTAKIT_FUZZ_LOG") != NULL ? stderr : NULL;
    CHECK(otk_device_run_open_copy(&run, &master, log, NULL) == ESP_OK);
    CHECK(otk_device_run_power_on(&run, run.store.selftest) == ESP_OK);
    otk_hosted_handler_opts_t opts;
    otk_hosted_handler_opts_init(&opts);
    opts.token = TOKEN;
    CHECK(otk_hosted_handler_init(&w.h, &run, &opts, NULL) == ESP_OK);
    otk_hosted_peer_init(&w.peer, (cfg & 1) != 0);
    w.damaged = (cfg & 2) != 0;
    w.now = 1000;
    uint8_t slot_before[OTK_SHA256_LEN], slot_after[OTK_SHA256_LEN];
    running_hash(&run, slot_before);
    uint32_t power_ons = run.power_ons;
    for (int op = 0; op < MAX_OPS && in.at < in.n && !w.h.dead; op++) {
        uint8_t code = u8(&in);
        switch (code % OP_COUNT) {
        case 0: raw(&w, &in); break;
        case 1: simple(&w, 0, 0); break;
        case 2: auth(&w, (code & 0x80) == 0); break;
        case 3: begin(&w, &in); break;
        case 4:
        case 5: write_op(&w, &in); break;
        case 6: simple(&w, 1, 0); break;
        case 7: simple(&w, 2, 0); break;
        case 8: simple(&w, 3, 0); break;
        case 9: simple(&w, 4 + u8(&in) % 4, u32(&in)); break;
        case 10:
            w.now += (uint64_t)u8(&in) * 100u;
            otk_hosted_handler_tick(&w.h, w.now);
            break;
        case 11:
            otk_hosted_handler_link_down(&w.h, &w.peer);
            otk_hosted_peer_init(&w.peer, (cfg & 1) != 0);
            break;
        default: /* a few writes in a row, as a host streams them */
            for (int k = 0; k < 4; k++) {
                write_op(&w, &in);
            }
            break;
        }
    }
    if (!w.h.dead && run.power_ons == power_ons) {
        running_hash(&run, slot_after);
        CHECK(memcmp(slot_before, slot_after, sizeof slot_after) == 0);
    }
    otk_hosted_handler_shutdown(&w.h);
    otk_device_run_close(&run);
    return 0;
}
