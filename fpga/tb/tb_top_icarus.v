// Icarus bench of the top's register window: ID, VERSION, CTRL, each
// unit's config, K's clamp, and an offset no one owns. Prints "PASS" or
// a "FAIL" line per wrong register (tests/fpga/icarus.sh).
`timescale 1ns / 1ps
`include "rmem_fpga_defs.vh"

module tb_top_icarus;
	reg clk = 0, rst = 1, reg_wr = 0, reg_rd = 0;
	reg [11:0] reg_addr = 0;
	reg [63:0] reg_wdata = 0;
	wire [63:0] reg_rdata;
	integer bad = 0;

	rmem_fpga dut (
		.clk(clk), .rst(rst), .reg_wr(reg_wr), .reg_rd(reg_rd), .reg_addr(reg_addr),
		.reg_wdata(reg_wdata), .reg_rdata(reg_rdata),
		.wb_valid(1'b0), .wb_ready(), .wb_line(42'd0),
		.mw_valid(), .mw_ready(1'b1), .mw_addr(), .mw_data(),
		.crit_valid(), .crit_tag(), .crit_data(),
		.lw_valid(), .lw_ready(1'b1), .lw_addr(), .lw_data(),
		.hr_valid(), .hr_ready(1'b1), .hr_addr(), .hr_rvalid(1'b0), .hr_rdata(512'd0),
		.tx_valid(), .tx_ready(1'b1), .tx_data(), .tx_last(),
		.rx_valid(1'b0), .rx_data(64'd0), .rx_last(1'b0));

	always #5 clk = !clk;

	task wr(input [11:0] a, input [63:0] d);
		begin
			@(negedge clk);
			reg_wr = 1; reg_addr = a; reg_wdata = d;
			@(negedge clk);
			reg_wr = 0;
		end
	endtask

	task expect_reg(input [11:0] a, input [63:0] want);
		begin
			@(negedge clk);
			reg_rd = 1; reg_addr = a;
			@(negedge clk);
			reg_rd = 0;
			if (reg_rdata !== want) begin
				$display("FAIL: register %h reads %h, not %h", a, reg_rdata, want);
				bad = bad + 1;
			end
		end
	endtask

	initial begin
		repeat (2) @(negedge clk);
		rst = 0;
		expect_reg(`RMEM_FPGA_REG_ID, `RMEM_FPGA_ID_MAGIC);
		expect_reg(`RMEM_FPGA_REG_VERSION, `RMEM_FPGA_MAP_VERSION);
		expect_reg(`RMEM_FPGA_REG_CTRL, 64'd0);
		wr(`RMEM_FPGA_REG_CTRL, 64'd3);
		expect_reg(`RMEM_FPGA_REG_CTRL, 64'd3);
		// line 2^14 x 4, page 2^12 x 2, 6-bit counters; 8 tags, 16 frames, 4 requests
		expect_reg(`RMEM_FPGA_REG_TRK_CONFIG, 64'h0006_020c_040e);
		expect_reg(`RMEM_FPGA_REG_FETCH_CONFIG, 64'h02_04_03);
		expect_reg(`RMEM_FPGA_REG_TRK_K, 64'd16);
		wr(`RMEM_FPGA_REG_TRK_K, 64'd99);
		expect_reg(`RMEM_FPGA_REG_TRK_K, 64'd62);	// clamped below 63
		expect_reg(`RMEM_FPGA_REG_FETCH_DONE, 64'd0);	// nothing completed
		expect_reg(12'hff8, 64'd0);			// no one's
		wr(`RMEM_FPGA_REG_RING_BASE, 64'h1234_5007);
		expect_reg(`RMEM_FPGA_REG_RING_BASE, 64'h1234_5000);	// 8-aligned
		if (bad == 0)
			$display("PASS: top registers");
		$finish;
	end
endmodule
