// rmem dirty-line tracker: PBerry's first scheme.
//
// Cache-line write-backs (physical line addresses: byte address >> 6) arrive
// on a valid/ready stream, one per cycle at most. A partitioned Bloom
// filter over line addresses (LINE_HASHES banks of 2^LINE_ORDER bits)
// drops lines already seen this epoch. A new line increments its page's
// counters in a counting Bloom filter (PAGE_HASHES banks of 2^PAGE_ORDER
// saturating COUNT_BITS-bit counters, each with a mark bit); while the
// page's estimate (the least of its counters) is at most K the line is
// logged, and once it passes K the page is logged once as wholly dirty
// (its mark bits all set) and its further lines are not. Log entries go
// through a FIFO to a ring in host memory, one 64-bit write each; a full
// ring or a slow memory stops the stream, never drops an entry.
//
// A false positive of the line filter hides a dirty line, and one of the
// mark bits a dense page; the host's PATCH carries the page hash, so the
// donor's MISMATCH answer turns either into a full-page write, never into
// lost data. The C model (fpga/model/rmem_model.c) makes the same
// decisions for the same stream; the test benches hold the two together.
//
// Pipeline: stage 0 hashes the address and reads every bank; stage 1 sees
// the banks (forwarding the write of the item just before it), decides,
// writes the banks and pushes the entry. An epoch command waits for stage
// 1 to empty, then sweeps the banks to zero (the same sweep runs after
// reset); entries already made are kept and still written.
`include "rmem_fpga_defs.vh"

module rmem_tracker #(
	parameter LINE_ORDER = 14,
	parameter LINE_HASHES = 4,
	parameter PAGE_ORDER = 12,
	parameter PAGE_HASHES = 2,
	parameter COUNT_BITS = 6,
	parameter K_DEFAULT = 16,
	parameter FIFO_ORDER = 4,
	parameter [63:0] LINE_SEED = `RMEM_FPGA_LINE_SEED,
	parameter [63:0] PAGE_SEED = `RMEM_FPGA_PAGE_SEED
) (
	input wire clk,
	input wire rst,
	input wire enable,
	// write-back stream
	input wire wb_valid,
	output wire wb_ready,
	input wire [41:0] wb_line,
	// host memory writes: the log ring
	output wire mw_valid,
	input wire mw_ready,
	output wire [63:0] mw_addr,
	output wire [63:0] mw_data,
	// registers (offsets of include/uapi/linux/rmem_fpga.h)
	input wire reg_wr,
	input wire [11:0] reg_addr,
	input wire [63:0] reg_wdata,
	output reg [63:0] reg_rdata,
	output reg reg_hit
);
	`include "rmem_h3.vh"

	localparam CMAX = (1 << COUNT_BITS) - 1;
	localparam PW = COUNT_BITS + 1;		// a page-filter entry: mark, count
	localparam SWEEP = LINE_ORDER > PAGE_ORDER ? LINE_ORDER : PAGE_ORDER;
	localparam DEPTH = 1 << FIFO_ORDER;
	localparam [7:0] CFG_LINE_ORDER = LINE_ORDER[7:0], CFG_LINE_HASHES = LINE_HASHES[7:0],
			 CFG_PAGE_ORDER = PAGE_ORDER[7:0], CFG_PAGE_HASHES = PAGE_HASHES[7:0],
			 CFG_COUNT_BITS = COUNT_BITS[7:0];

	// ---- registers ------------------------------------------------------
	reg [COUNT_BITS-1:0] k;
	reg [63:0] epoch;
	reg [63:0] ring_base, ring_head, ring_tail;
	reg [5:0] ring_order;
	reg [63:0] c_lines, c_logged, c_dense, c_repeat, c_indense,
		   c_saturated, c_filter_set, c_stalls;
	reg clearing, clear_pending;
	reg [SWEEP-1:0] sweep;

	// ---- stage 0: hash and read ------------------------------------------
	wire [41:0] line_key = wb_line;
	wire [35:0] page_key = wb_line[41:6];
	wire [LINE_HASHES*LINE_ORDER-1:0] lidx0;
	wire [PAGE_HASHES*PAGE_ORDER-1:0] pidx0;

	genvar gi, gj;
	generate
		for (gi = 0; gi < LINE_HASHES; gi = gi + 1) begin : g_lhash
			for (gj = 0; gj < LINE_ORDER; gj = gj + 1) begin : g_bit
				localparam [63:0] ROW = rmem_h3_row(LINE_SEED, gi, gj);
				assign lidx0[gi*LINE_ORDER + gj] = ^({22'd0, line_key} & ROW);
			end
		end
		for (gi = 0; gi < PAGE_HASHES; gi = gi + 1) begin : g_phash
			for (gj = 0; gj < PAGE_ORDER; gj = gj + 1) begin : g_bit
				localparam [63:0] ROW = rmem_h3_row(PAGE_SEED, gi, gj);
				assign pidx0[gi*PAGE_ORDER + gj] = ^({28'd0, page_key} & ROW);
			end
		end
	endgenerate

	reg [FIFO_ORDER:0] fifo_count;
	reg s1_valid;
	wire accept = wb_valid && wb_ready;
	// room for the entry of the item in stage 1 and for this one's
	wire [FIFO_ORDER+1:0] fifo_promised = {1'b0, fifo_count} +
					      {{(FIFO_ORDER + 1){1'b0}}, s1_valid};
	assign wb_ready = enable && !clearing && !clear_pending &&
			  fifo_promised < DEPTH[FIFO_ORDER+1:0];

	reg [41:0] s1_line;
	reg [LINE_HASHES*LINE_ORDER-1:0] s1_lidx;
	reg [PAGE_HASHES*PAGE_ORDER-1:0] s1_pidx;

	// ---- the banks -------------------------------------------------------
	wire [LINE_HASHES-1:0] lq;
	wire [PAGE_HASHES*PW-1:0] pq;
	reg l_we, p_we;
	reg [PAGE_HASHES*PW-1:0] p_new;

	generate
		for (gi = 0; gi < LINE_HASHES; gi = gi + 1) begin : g_lbank
			rmem_sdp_ram #(.WIDTH(1), .ORDER(LINE_ORDER)) bank (
				.clk(clk),
				.we(clearing || l_we),
				.waddr(clearing ? sweep[LINE_ORDER-1:0] :
				       s1_lidx[gi*LINE_ORDER +: LINE_ORDER]),
				.wdata(!clearing),
				.raddr(lidx0[gi*LINE_ORDER +: LINE_ORDER]),
				.rdata(lq[gi]));
		end
		for (gi = 0; gi < PAGE_HASHES; gi = gi + 1) begin : g_pbank
			rmem_sdp_ram #(.WIDTH(PW), .ORDER(PAGE_ORDER)) bank (
				.clk(clk),
				.we(clearing || p_we),
				.waddr(clearing ? sweep[PAGE_ORDER-1:0] :
				       s1_pidx[gi*PAGE_ORDER +: PAGE_ORDER]),
				.wdata(clearing ? {PW{1'b0}} : p_new[gi*PW +: PW]),
				.raddr(pidx0[gi*PAGE_ORDER +: PAGE_ORDER]),
				.rdata(pq[gi*PW +: PW]));
		end
	endgenerate

	// ---- stage 1: decide -------------------------------------------------
	// the write of the item just before: its banks' read saw the old value
	reg w_l, w_p;
	reg [LINE_HASHES*LINE_ORDER-1:0] w_lidx;
	reg [PAGE_HASHES*PAGE_ORDER-1:0] w_pidx;
	reg [PAGE_HASHES*PW-1:0] w_pdata;

	reg [LINE_HASHES-1:0] lbit;
	reg [PAGE_HASHES*PW-1:0] pent;
	reg seen, sat, all_marked, push;
	reg [COUNT_BITS-1:0] est;
	reg [63:0] entry;
	reg [3:0] newbits;
	integer i;

	always @* begin
		for (i = 0; i < LINE_HASHES; i = i + 1)
			lbit[i] = lq[i] || (w_l && w_lidx[i*LINE_ORDER +: LINE_ORDER] ==
						  s1_lidx[i*LINE_ORDER +: LINE_ORDER]);
		for (i = 0; i < PAGE_HASHES; i = i + 1)
			pent[i*PW +: PW] = (w_p && w_pidx[i*PAGE_ORDER +: PAGE_ORDER] ==
						   s1_pidx[i*PAGE_ORDER +: PAGE_ORDER]) ?
					   w_pdata[i*PW +: PW] : pq[i*PW +: PW];
		seen = &lbit;
		newbits = 4'd0;
		for (i = 0; i < LINE_HASHES; i = i + 1)
			newbits = newbits + {3'd0, !lbit[i]};
		sat = 1'b0;
		all_marked = 1'b1;
		est = {COUNT_BITS{1'b1}};
		p_new = pent;
		for (i = 0; i < PAGE_HASHES; i = i + 1) begin
			if (pent[i*PW +: COUNT_BITS] == CMAX[COUNT_BITS-1:0])
				sat = 1'b1;
			else
				p_new[i*PW +: COUNT_BITS] = pent[i*PW +: COUNT_BITS] + 1'b1;
			if (p_new[i*PW +: COUNT_BITS] < est)
				est = p_new[i*PW +: COUNT_BITS];
			all_marked = all_marked && pent[i*PW + COUNT_BITS];
		end
		l_we = s1_valid && !seen;
		p_we = s1_valid && !seen;
		push = 1'b0;
		entry = 64'd0;
		if (s1_valid && !seen) begin
			if (est <= k) begin
				push = 1'b1;
				entry = {2'd`RMEM_FPGA_LOG_LINE, epoch[13:0], 6'd0, s1_line};
			end else if (!all_marked) begin
				push = 1'b1;
				entry = {2'd`RMEM_FPGA_LOG_PAGE, epoch[13:0], 6'd0,
					 s1_line[41:6], 6'd0};
				for (i = 0; i < PAGE_HASHES; i = i + 1)
					p_new[i*PW + COUNT_BITS] = 1'b1;
			end
		end
	end

	// ---- the log FIFO and the ring writer --------------------------------
	reg [63:0] fifo[0:DEPTH-1];
	reg [FIFO_ORDER-1:0] fifo_rd, fifo_wr;
	wire [63:0] ring_used = ring_head - ring_tail;
	wire ring_full = ring_used >= (64'd1 << ring_order);
	wire pop = mw_valid && mw_ready;

	assign mw_valid = fifo_count != 0 && !ring_full;
	assign mw_data = fifo[fifo_rd];
	assign mw_addr = ring_base + ((ring_head & ((64'd1 << ring_order) - 64'd1)) << 3);

	always @(posedge clk) begin
		if (push)
			fifo[fifo_wr] <= entry;
	end

	wire epoch_cmd = reg_wr && reg_addr == `RMEM_FPGA_REG_CMD && reg_wdata[0];

	// ---- sequential state ------------------------------------------------
	always @(posedge clk) begin
		if (rst) begin
			k <= K_DEFAULT[COUNT_BITS-1:0];
			epoch <= 64'd0;
			ring_base <= 64'd0;
			ring_order <= 6'd0;
			ring_head <= 64'd0;
			ring_tail <= 64'd0;
			c_lines <= 64'd0;
			c_logged <= 64'd0;
			c_dense <= 64'd0;
			c_repeat <= 64'd0;
			c_indense <= 64'd0;
			c_saturated <= 64'd0;
			c_filter_set <= 64'd0;
			c_stalls <= 64'd0;
			clearing <= 1'b1;	// the banks start unknown
			clear_pending <= 1'b0;
			sweep <= {SWEEP{1'b0}};
			s1_valid <= 1'b0;
			w_l <= 1'b0;
			w_p <= 1'b0;
			fifo_rd <= {FIFO_ORDER{1'b0}};
			fifo_wr <= {FIFO_ORDER{1'b0}};
			fifo_count <= {(FIFO_ORDER + 1){1'b0}};
		end else begin
			// stage 0 -> 1
			s1_valid <= accept;
			if (accept) begin
				s1_line <= line_key;
				s1_lidx <= lidx0;
				s1_pidx <= pidx0;
			end
			// stage 1's write, for the next item's forwarding
			w_l <= l_we;
			w_p <= p_we;
			w_lidx <= s1_lidx;
			w_pidx <= s1_pidx;
			w_pdata <= p_new;
			if (s1_valid) begin
				c_lines <= c_lines + 64'd1;
				if (seen) begin
					c_repeat <= c_repeat + 64'd1;
				end else begin
					c_filter_set <= c_filter_set + {60'd0, newbits};
					if (sat)
						c_saturated <= c_saturated + 64'd1;
					if (est <= k)
						c_logged <= c_logged + 64'd1;
					else if (!all_marked)
						c_dense <= c_dense + 64'd1;
					else
						c_indense <= c_indense + 64'd1;
				end
			end
			if (enable && wb_valid && !wb_ready)
				c_stalls <= c_stalls + 64'd1;
			// the FIFO
			if (push)
				fifo_wr <= fifo_wr + 1'b1;
			if (pop) begin
				fifo_rd <= fifo_rd + 1'b1;
				ring_head <= ring_head + 64'd1;
			end
			fifo_count <= fifo_count + {{FIFO_ORDER{1'b0}}, push} -
				      {{FIFO_ORDER{1'b0}}, pop};
			// epochs: after the item in stage 1, before any other. A
			// command while one is pending or sweeping only counts its
			// (empty) epoch: the filters are being cleared anyway
			if (clearing) begin
				sweep <= sweep + 1'b1;
				if (&sweep)
					clearing <= 1'b0;
			end else if (clear_pending && !s1_valid) begin
				clear_pending <= 1'b0;
				clearing <= 1'b1;
				c_filter_set <= 64'd0;
			end
			epoch <= epoch + {63'd0, !clearing && clear_pending && !s1_valid} +
				 {63'd0, epoch_cmd && (clearing || clear_pending)};
			// register writes
			if (reg_wr) begin
				case (reg_addr)
				`RMEM_FPGA_REG_CMD:
					if (epoch_cmd && !clearing && !clear_pending)
						clear_pending <= 1'b1;
				`RMEM_FPGA_REG_TRK_K:
					k <= reg_wdata >= CMAX ? CMAX[COUNT_BITS-1:0] - 1'b1 :
					     reg_wdata[COUNT_BITS-1:0];
				`RMEM_FPGA_REG_RING_BASE:
					ring_base <= {reg_wdata[63:3], 3'd0};
				`RMEM_FPGA_REG_RING_ORDER:
					ring_order <= reg_wdata > 64'd32 ? 6'd32 : reg_wdata[5:0];
				`RMEM_FPGA_REG_RING_TAIL:
					ring_tail <= reg_wdata;
				default: ;
				endcase
			end
		end
	end

	// ---- register reads --------------------------------------------------
	always @* begin
		reg_hit = 1'b1;
		case (reg_addr)
		`RMEM_FPGA_REG_STATUS:
			reg_rdata = {62'd0, ring_full, clearing || clear_pending};
		`RMEM_FPGA_REG_TRK_CONFIG:
			reg_rdata = {24'd0, CFG_COUNT_BITS, CFG_PAGE_HASHES,
				     CFG_PAGE_ORDER, CFG_LINE_HASHES, CFG_LINE_ORDER};
		`RMEM_FPGA_REG_TRK_K: reg_rdata = {{(64 - COUNT_BITS){1'b0}}, k};
		`RMEM_FPGA_REG_EPOCH: reg_rdata = epoch;
		`RMEM_FPGA_REG_RING_BASE: reg_rdata = ring_base;
		`RMEM_FPGA_REG_RING_ORDER: reg_rdata = {58'd0, ring_order};
		`RMEM_FPGA_REG_RING_HEAD: reg_rdata = ring_head;
		`RMEM_FPGA_REG_RING_TAIL: reg_rdata = ring_tail;
		`RMEM_FPGA_REG_CNT_LINES: reg_rdata = c_lines;
		`RMEM_FPGA_REG_CNT_LOGGED: reg_rdata = c_logged;
		`RMEM_FPGA_REG_CNT_DENSE: reg_rdata = c_dense;
		`RMEM_FPGA_REG_CNT_REPEAT: reg_rdata = c_repeat;
		`RMEM_FPGA_REG_CNT_INDENSE: reg_rdata = c_indense;
		`RMEM_FPGA_REG_CNT_SATURATED: reg_rdata = c_saturated;
		`RMEM_FPGA_REG_CNT_FILTER_SET: reg_rdata = c_filter_set;
		`RMEM_FPGA_REG_CNT_STALLS: reg_rdata = c_stalls;
		default: begin
			reg_rdata = 64'd0;
			reg_hit = 1'b0;
		end
		endcase
	end
endmodule
