/* libFuzzer harness for the proxy core: any frame on either port, at any
 * time, must give a verdict without a crash, an out-of-bounds access or an
 * emitted frame that does not parse with a valid checksum.  The input is
 * a sequence of records [port+time byte][length byte][frame], so the
 * fuzzer can build multi-frame conversations from the seeds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/proxy.h"
#include "net/pkt.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static struct sg_proxy *proxy;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t bufs[SG_OUT_MAX][SG_OUT_FRAME_MAX];
	static uint64_t now = 1000ull * 1000000000ull;
	struct sg_proxy_worker *w;

	if (!proxy) {
		static const uint8_t seed[SG_PROXY_SEED_BYTES] = { 1, 2, 3, 4, 5, 6, 7, 8 };
		struct sg_proxy_config cfg;

		sg_proxy_config_default(&cfg);
		cfg.seed = seed;          /* a crash must replay the same way */
		cfg.ct.capacity = 64;     /* small: eviction and full-table paths */
		if (sg_proxy_create(&cfg, 1, &proxy))
			abort();
	}
	w = sg_proxy_worker(proxy, 0);
	while (size >= 2) {
		unsigned port = data[0] & 1, len = data[1];
		struct sg_out out = { .n = 0, .cap = SG_OUT_MAX };
		uint8_t *frame;

		now += (uint64_t)(data[0] >> 1) * 250000000ull;   /* up to ~32 s */
		data += 2;
		size -= 2;
		if (len > size)
			len = (unsigned)size;
		frame = malloc(len ? len : 1);
		memcpy(frame, data, len);
		for (unsigned i = 0; i < SG_OUT_MAX; i++)
			out.f[i].buf = bufs[i];
		sg_proxy_process(w, (enum sg_port)port, frame, len, now, &out);
		for (unsigned i = 0; i < out.n; i++) {
			struct sg_pkt p;

			CHECK(out.f[i].len <= SG_OUT_FRAME_MAX);
			CHECK(sg_pkt_parse(&p, out.f[i].buf, out.f[i].len) == SG_PKT_TCP);
			CHECK(sg_pkt_tcp_csum_ok(&p));
		}
		free(frame);
		data += len;
		size -= len;
		out.n = 0;
		sg_proxy_tick(w, now, &out);
	}
	return 0;
}
