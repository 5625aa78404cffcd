// SPDX-License-Identifier: GPL-2.0
/*
 * Verilator bench of the dirty-line tracker against the C model.
 *
 * Drives write-backs (random, or a trace file of little-endian 64-bit line
 * addresses where all-ones starts a new epoch) into fpga/rtl/rmem_tracker.v
 * with random gaps, random memory back-pressure, a host that consumes the
 * log ring late and little by little, and epoch commands at random points.
 * Every entry the RTL writes to the ring must be the model's next entry,
 * and at the end every counter must equal the model's. Exit 0 only then.
 *
 *   tb_tracker [--seed N] [--lines N] [--trace FILE] [--log FILE]
 *              [--ring-order N] [--k K] [--epochs N] [--calm] [--quiet]
 *
 * --calm turns off gaps and back-pressure and consumes the ring at once:
 * the cycle count then shows the tracker's rate (one write-back a cycle).
 */
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "Vrmem_tracker.h"
#include "verilated.h"

extern "C" {
#include "rmem_common.h"
#include "rmem_model.h"
}

static const uint64_t RING_BASE = 0x100000;
static const uint64_t EPOCH_MARK = ~0ull;

struct bench {
	std::unique_ptr<Vrmem_tracker> top;
	uint64_t cycles = 0;

	explicit bench(VerilatedContext *ctx) : top(new Vrmem_tracker(ctx)) {}

	// one clock: inputs were set with clk low
	void tick()
	{
		top->clk = 1;
		top->eval();
		top->clk = 0;
		top->eval();
		cycles++;
	}

	uint64_t reg_read(uint16_t addr)
	{
		top->reg_wr = 0;
		top->reg_addr = addr;
		top->eval();
		return top->reg_rdata;
	}
};

static void usage(void)
{
	fprintf(stderr, "usage: tb_tracker [--seed N] [--lines N] [--trace FILE] [--log FILE]\n"
			"                  [--ring-order N] [--k K] [--epochs N] [--calm] [--quiet]\n");
	exit(2);
}

static uint64_t num(const char *s)
{
	uint64_t v;

	if (rmem_parse_u64(s, &v)) {
		fprintf(stderr, "tb_tracker: not a number: '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	uint64_t seed = 1, nlines = 200000, ring_order = 6, epochs = 4;
	int64_t k = -1;
	const char *trace = nullptr, *logfile = nullptr;
	bool calm = false, quiet = false;

	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : nullptr;

		if (a == "--calm") { calm = true; continue; }
		if (a == "--quiet") { quiet = true; continue; }
		if (!v)
			usage();
		i++;
		if (a == "--seed") seed = num(v);
		else if (a == "--lines") nlines = num(v);
		else if (a == "--trace") trace = v;
		else if (a == "--log") logfile = v;
		else if (a == "--ring-order") ring_order = num(v);
		else if (a == "--k") k = (int64_t)num(v);
		else if (a == "--epochs") epochs = num(v);
		else usage();
	}

	// the stream: a trace, or random lines of a pool of pages, some dense
	std::vector<uint64_t> stream;
	std::mt19937_64 rng(seed);
	if (trace) {
		FILE *f = fopen(trace, "rb");
		uint64_t x;

		if (!f) {
			fprintf(stderr, "tb_tracker: %s: %s\n", trace, strerror(errno));
			return 2;
		}
		while (fread(&x, sizeof(x), 1, f) == 1)
			stream.push_back(x);
		fclose(f);
	} else {
		size_t npages = 16 + rng() % 2048;
		std::vector<uint64_t> pages(npages);

		for (auto &p : pages)
			p = rng() & ((1ull << 36) - 1);
		for (uint64_t n = 0; n < nlines; n++) {
			uint64_t page = pages[rng() % (1 + rng() % npages)];
			unsigned int line = (page & 1) ? rng() % 64 : rng() % 4;

			if (epochs && rng() % (nlines / epochs + 1) == 0) {
				stream.push_back(EPOCH_MARK);
				while (rng() % 4 == 0)	// empty epochs too
					stream.push_back(EPOCH_MARK);
			}
			stream.push_back(page << 6 | line);
		}
	}

	auto ctx = std::make_unique<VerilatedContext>();
	bench b(ctx.get());
	Vrmem_tracker *t = b.top.get();

	t->clk = 0;
	t->rst = 1;
	t->enable = 0;
	t->wb_valid = 0;
	t->mw_ready = 0;
	t->reg_wr = 0;
	t->eval();
	b.tick();
	b.tick();
	t->rst = 0;

	// the model takes the RTL's parameters from its TRK_CONFIG register
	uint64_t cfg = b.reg_read(RMEM_FPGA_REG_TRK_CONFIG);
	struct rmem_trk_params p = RMEM_TRK_DEFAULTS;
	p.line_order = RMEM_FPGA_TRK_LINE_ORDER(cfg);
	p.line_hashes = RMEM_FPGA_TRK_LINE_HASHES(cfg);
	p.page_order = RMEM_FPGA_TRK_PAGE_ORDER(cfg);
	p.page_hashes = RMEM_FPGA_TRK_PAGE_HASHES(cfg);
	p.count_bits = RMEM_FPGA_TRK_COUNT_BITS(cfg);
	p.k = b.reg_read(RMEM_FPGA_REG_TRK_K);
	struct rmem_trk m;
	if (rmem_trk_init(&m, &p)) {
		fprintf(stderr, "tb_tracker: the model refuses config %#" PRIx64 "\n", cfg);
		return 1;
	}

	std::deque<std::pair<uint16_t, uint64_t>> writes;	// register writes to do
	if (k >= 0) {
		writes.push_back({RMEM_FPGA_REG_TRK_K, (uint64_t)k});
		rmem_trk_set_k(&m, (uint64_t)k);
	}
	writes.push_back({RMEM_FPGA_REG_RING_BASE, RING_BASE});
	writes.push_back({RMEM_FPGA_REG_RING_ORDER, ring_order});
	t->enable = 1;

	std::map<uint64_t, uint64_t> mem;	// host memory the RTL wrote
	std::deque<uint64_t> expect;		// the model's entries, not yet seen
	std::vector<uint64_t> log;
	uint64_t tail = 0, head = 0, model_epoch_cmds = 0, max_cycles;
	size_t pos = 0, settle = 0;
	int bad = 0;

	// the stream's cycles, and a sweep of the larger bank per epoch
	size_t nepochs = 1;
	for (uint64_t w : stream)
		nepochs += w == EPOCH_MARK;
	max_cycles = 1000 + stream.size() * (calm ? 4 : 64) +
		     nepochs * 2 * (1ull << std::max(p.line_order, p.page_order));
	while (b.cycles < max_cycles) {
		bool feeding = pos < stream.size();

		// a register write this cycle, or a read of RING_HEAD
		bool epoch_now = false;

		t->reg_wr = 0;
		t->reg_addr = RMEM_FPGA_REG_RING_HEAD;
		if (!writes.empty()) {
			t->reg_wr = 1;
			t->reg_addr = writes.front().first;
			t->reg_wdata = writes.front().second;
			writes.pop_front();
		} else if (feeding && stream[pos] == EPOCH_MARK) {
			t->reg_wr = 1;
			t->reg_addr = RMEM_FPGA_REG_CMD;
			t->reg_wdata = RMEM_FPGA_CMD_EPOCH;
			epoch_now = true;
			pos++;
		}
		feeding = pos < stream.size() && stream[pos] != EPOCH_MARK && !epoch_now;
		t->wb_valid = feeding && (calm || rng() % 8 != 0);
		t->wb_line = feeding ? stream[pos] & ((1ull << 42) - 1) : 0;
		t->mw_ready = calm || rng() % 4 != 0;
		t->eval();

		if (!t->reg_wr)
			head = t->reg_rdata;
		if (t->wb_valid && t->wb_ready) {
			uint64_t e;

			if (rmem_trk_line(&m, stream[pos], &e) <= RMEM_TRK_V_DENSE)
				expect.push_back(e);
			pos++;
		}
		if (epoch_now) {
			rmem_trk_epoch(&m);
			model_epoch_cmds++;
		}
		if (t->mw_valid && t->mw_ready)
			mem[t->mw_addr] = t->mw_data;
		b.tick();

		// the host: reads what the ring holds, now and then some of it
		if (calm || rng() % 16 == 0) {
			uint64_t n = calm ? head - tail : rng() % (head - tail + 1);

			for (uint64_t i = 0; i < n; i++, tail++) {
				uint64_t a = RING_BASE + ((tail & ((1ull << ring_order) - 1)) << 3);
				uint64_t e = mem.count(a) ? mem[a] : 0;

				mem.erase(a);
				if (expect.empty() || e != expect.front()) {
					if (bad++ < 10)
						fprintf(stderr, "tb_tracker: ring entry %" PRIu64 " is %#" PRIx64
							", the model's is %#" PRIx64 "\n", tail, e,
							expect.empty() ? 0 : expect.front());
				}
				if (!expect.empty())
					expect.pop_front();
				log.push_back(e);
			}
			if (n && writes.empty())
				writes.push_back({RMEM_FPGA_REG_RING_TAIL, tail});
		}
		// the last write-back needs a few cycles through the pipeline
		settle = pos < stream.size() ? 0 : settle + 1;
		if (settle > 8 && expect.empty() && writes.empty() && head == tail &&
		    !(b.reg_read(RMEM_FPGA_REG_STATUS) & RMEM_FPGA_STATUS_CLEARING))
			break;
	}
	if (pos < stream.size() || !expect.empty()) {
		fprintf(stderr, "tb_tracker: stuck after %" PRIu64 " cycles: %zu of %zu write-backs in, "
			"%zu entries not written\n", b.cycles, pos, stream.size(), expect.size());
		bad++;
	}

	static const uint16_t regs[RMEM_TRK_NCOUNTERS] = {
		RMEM_FPGA_REG_CNT_LINES, RMEM_FPGA_REG_CNT_LOGGED, RMEM_FPGA_REG_CNT_DENSE,
		RMEM_FPGA_REG_CNT_REPEAT, RMEM_FPGA_REG_CNT_INDENSE,
		RMEM_FPGA_REG_CNT_SATURATED, RMEM_FPGA_REG_CNT_FILTER_SET,
	};
	static const char *names[RMEM_TRK_NCOUNTERS] = {
		"lines", "logged", "dense", "repeat", "indense", "saturated", "filter_set",
	};
	for (int i = 0; i < RMEM_TRK_NCOUNTERS; i++) {
		uint64_t v = b.reg_read(regs[i]);

		if (v != m.cnt[i]) {
			fprintf(stderr, "tb_tracker: counter %s is %" PRIu64 ", the model's %" PRIu64 "\n",
				names[i], v, m.cnt[i]);
			bad++;
		}
	}
	if (b.reg_read(RMEM_FPGA_REG_EPOCH) != m.epoch) {
		fprintf(stderr, "tb_tracker: epoch %" PRIu64 ", the model's %" PRIu64 "\n",
			(uint64_t)b.reg_read(RMEM_FPGA_REG_EPOCH), m.epoch);
		bad++;
	}
	if (logfile) {
		FILE *f = fopen(logfile, "wb");

		if (!f || fwrite(log.data(), sizeof(uint64_t), log.size(), f) != log.size() ||
		    fclose(f)) {
			fprintf(stderr, "tb_tracker: cannot write %s\n", logfile);
			return 2;
		}
	}
	if (!quiet || bad) {
		printf("config line %ux%u page %ux%u count %u k %u: ", 1u << p.line_order,
		       p.line_hashes, 1u << p.page_order, p.page_hashes, p.count_bits, m.p.k);
		printf("%" PRIu64 " write-backs in %" PRIu64 " cycles, %zu entries, epochs %" PRIu64
		       ", stalls %" PRIu64 "\n", m.cnt[RMEM_TRK_LINES], b.cycles, log.size(),
		       model_epoch_cmds, (uint64_t)b.reg_read(RMEM_FPGA_REG_CNT_STALLS));
		for (int i = 0; i < RMEM_TRK_NCOUNTERS; i++)
			printf("%s=%" PRIu64 "%s", names[i], m.cnt[i],
			       i + 1 < RMEM_TRK_NCOUNTERS ? " " : "\n");
	}
	t->final();
	rmem_trk_free(&m);
	if (bad) {
		fprintf(stderr, "tb_tracker: FAILED (seed %" PRIu64 ")\n", seed);
		return 1;
	}
	return 0;
}
