// Icarus Verilog bench of the tracker: the same RTL under a second
// simulator. Reads write-backs from STREAM (hex, one line address per
// line, all-ones for an epoch command), drives them with gaps and memory
// back-pressure from an LFSR, consumes the ring now and then, and writes
// every ring entry, in hex, to LOG. tests/fpga/icarus.sh compares LOG with
// the C model's entries for the same stream.
//
//   iverilog -DSTREAM='"s.hex"' -DLOG='"log.hex"' -DCOUNT=N ...
`timescale 1ns / 1ps
`include "rmem_fpga_defs.vh"

module tb_tracker_icarus;
	reg clk = 0, rst = 1;
	reg wb_valid = 0, mw_ready = 0, reg_wr = 0;
	reg [41:0] wb_line = 0;
	reg [11:0] reg_addr = 0;
	reg [63:0] reg_wdata = 0;
	wire wb_ready, mw_valid, reg_hit;
	wire [63:0] mw_addr, mw_data, reg_rdata;

	rmem_tracker dut (
		.clk(clk), .rst(rst), .enable(1'b1),
		.wb_valid(wb_valid), .wb_ready(wb_ready), .wb_line(wb_line),
		.mw_valid(mw_valid), .mw_ready(mw_ready), .mw_addr(mw_addr),
		.mw_data(mw_data), .reg_wr(reg_wr), .reg_addr(reg_addr),
		.reg_wdata(reg_wdata), .reg_rdata(reg_rdata), .reg_hit(reg_hit));

	localparam RING_ORDER = 4;
	reg [63:0] stream[0:`COUNT-1];
	reg [63:0] ring[0:(1 << RING_ORDER) - 1];
	reg [63:0] tail = 0, head = 0;
	reg [15:0] lfsr = 16'hace1;
	integer pos = 0, fd, cycles = 0, idle = 0;

	always #5 clk = !clk;

	initial begin
		$readmemh(`STREAM, stream);
		fd = $fopen(`LOG, "w");
		repeat (2) @(posedge clk);
		#1 rst = 0;
		reg_wr = 1;
		reg_addr = `RMEM_FPGA_REG_RING_BASE;
		reg_wdata = 64'h1000;
		@(posedge clk);
		#1 reg_addr = `RMEM_FPGA_REG_RING_ORDER;
		reg_wdata = RING_ORDER;
		@(posedge clk);
		#1 reg_wr = 0;
		while (idle < 64) begin
			// inputs for this cycle
			lfsr = {lfsr[14:0], lfsr[15] ^ lfsr[13] ^ lfsr[12] ^ lfsr[10]};
			mw_ready = lfsr[1:0] != 2'b00;
			reg_wr = 0;
			wb_valid = 0;
			if (pos < `COUNT && stream[pos] == {64{1'b1}}) begin
				reg_wr = 1;
				reg_addr = `RMEM_FPGA_REG_CMD;
				reg_wdata = `RMEM_FPGA_CMD_EPOCH;
				pos = pos + 1;
			end else if (lfsr[5:3] == 3'b000 && tail != head) begin
				// the host consumed what the ring held
				reg_wr = 1;
				reg_addr = `RMEM_FPGA_REG_RING_TAIL;
				reg_wdata = head;
				while (tail != head) begin
					$fwrite(fd, "%016x\n", ring[tail[RING_ORDER-1:0]]);
					tail = tail + 1;
				end
			end else if (pos < `COUNT) begin
				wb_valid = lfsr[8:6] != 3'b000;
				wb_line = stream[pos][41:0];
			end
			#1;	// settled: what the coming edge takes
			if (wb_valid && wb_ready)
				pos = pos + 1;
			if (mw_valid && mw_ready) begin
				ring[(mw_addr - 64'h1000) >> 3] = mw_data;
				head = head + 1;
			end
			@(posedge clk);
			#1;
			cycles = cycles + 1;
			idle = pos < `COUNT || tail != head ? 0 : idle + 1;
		end
		$fclose(fd);
		$display("icarus: %0d write-backs, %0d entries, %0d cycles", pos, tail, cycles);
		$finish;
	end
endmodule
