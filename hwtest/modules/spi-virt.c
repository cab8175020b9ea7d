// SPDX-License-Identifier: GPL-2.0
/*
 * spi-virt.c - a virtual SPI controller whose last message a test reads back
 *
 * For podd's hardware test. It registers SPI bus <bus_num> with <num_cs>
 * devices bound to spidev (/dev/spidev<bus_num>.<cs>) through
 * driver_override: spidev has an id table, and no board describes these
 * devices. Every message completes at once; what was sent is kept and shown
 * in debugfs, under spi-virt/spi<bus_num>/:
 *
 *   last_tx        the bytes of the last message's transfers, in order
 *   messages       how many messages completed since the module loaded
 *   last_cs        the chip select of the last message
 *   last_speed_hz  the clock of its last transfer
 *   last_mode      its device's SPI mode bits (SPI_CPHA 0x1, SPI_CPOL 0x2, ...)
 *   last_bits      bits per word of its last transfer
 *
 * A read transfer receives the bytes it sent (a loopback: MOSI wired to
 * MISO), zeros for a receive-only transfer.
 *
 * Written against Linux 6.1's SPI core (drivers/spi/spi.c), following the
 * pattern of its simple controllers; GPL-2.0 as the kernel is.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/spi/spi.h>
#include <linux/string.h>

#define VSPI_MAX_MESSAGE 65536

static int bus_num;
module_param(bus_num, int, 0444);
MODULE_PARM_DESC(bus_num, "SPI bus number (default 0)");

static int num_cs = 1;
module_param(num_cs, int, 0444);
MODULE_PARM_DESC(num_cs, "Chip selects, each bound to spidev (1..4, default 1)");

struct vspi {
	struct mutex lock;	/* guards last and the counters */
	u8 *cur;		/* the message being received */
	size_t cur_len;
	u8 *last;		/* the last complete message */
	size_t last_len;
	u32 messages, last_cs, last_speed_hz, last_mode, last_bits;
	struct dentry *dir;
};

static struct platform_device *vspi_pdev;
static struct spi_controller *vspi_ctlr;
static struct dentry *vspi_root;

static int vspi_transfer_one_message(struct spi_controller *ctlr,
				     struct spi_message *msg)
{
	struct vspi *v = spi_controller_get_devdata(ctlr);
	struct spi_transfer *t;
	u8 *swap;
	int status = 0;

	v->cur_len = 0;
	list_for_each_entry(t, &msg->transfers, transfer_list) {
		if (v->cur_len + t->len > VSPI_MAX_MESSAGE) {
			status = -EMSGSIZE;
			break;
		}
		if (t->tx_buf)
			memcpy(v->cur + v->cur_len, t->tx_buf, t->len);
		else
			memset(v->cur + v->cur_len, 0, t->len);
		if (t->rx_buf)
			memcpy(t->rx_buf, v->cur + v->cur_len, t->len);
		v->cur_len += t->len;
		msg->actual_length += t->len;

		mutex_lock(&v->lock);
		v->last_speed_hz = t->speed_hz;
		v->last_bits = t->bits_per_word;
		mutex_unlock(&v->lock);
	}
	if (status == 0) {
		mutex_lock(&v->lock);
		swap = v->last;
		v->last = v->cur;
		v->cur = swap;
		v->last_len = v->cur_len;
		v->last_cs = msg->spi->chip_select;
		v->last_mode = msg->spi->mode;
		v->messages++;
		mutex_unlock(&v->lock);
	}
	msg->status = status;
	spi_finalize_current_message(ctlr);
	return status;
}

static ssize_t vspi_last_tx_read(struct file *f, char __user *buf,
				 size_t count, loff_t *pos)
{
	struct vspi *v = f->private_data;
	ssize_t n;

	mutex_lock(&v->lock);
	n = simple_read_from_buffer(buf, count, pos, v->last, v->last_len);
	mutex_unlock(&v->lock);
	return n;
}

static const struct file_operations vspi_last_tx_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = vspi_last_tx_read,
	.llseek = default_llseek,
};

static int vspi_add_devices(struct spi_controller *ctlr)
{
	struct spi_device *spi;
	int cs, ret;

	for (cs = 0; cs < num_cs; cs++) {
		spi = spi_alloc_device(ctlr);
		if (!spi)
			return -ENOMEM;
		spi->chip_select = cs;
		spi->max_speed_hz = ctlr->max_speed_hz;
		strscpy(spi->modalias, "spi-virt-dev", sizeof(spi->modalias));
		spi->driver_override = kstrdup("spidev", GFP_KERNEL);
		if (!spi->driver_override) {
			spi_dev_put(spi);
			return -ENOMEM;
		}
		ret = spi_add_device(spi);
		if (ret) {
			spi_dev_put(spi);
			return ret;
		}
	}
	return 0;
}

static int __init vspi_init(void)
{
	struct spi_controller *ctlr;
	struct vspi *v;
	char name[16];
	int ret;

	if (num_cs < 1 || num_cs > 4 || bus_num < 0) {
		pr_err("invalid bus_num %d or num_cs %d\n", bus_num, num_cs);
		return -EINVAL;
	}
	vspi_pdev = platform_device_register_simple("spi-virt", bus_num, NULL, 0);
	if (IS_ERR(vspi_pdev))
		return PTR_ERR(vspi_pdev);

	ctlr = spi_alloc_master(&vspi_pdev->dev, sizeof(*v));
	if (!ctlr) {
		ret = -ENOMEM;
		goto fail_pdev;
	}
	v = spi_controller_get_devdata(ctlr);
	mutex_init(&v->lock);
	v->cur = kzalloc(VSPI_MAX_MESSAGE, GFP_KERNEL);
	v->last = kzalloc(VSPI_MAX_MESSAGE, GFP_KERNEL);
	if (!v->cur || !v->last) {
		ret = -ENOMEM;
		goto fail_ctlr;
	}
	ctlr->bus_num = bus_num;
	ctlr->num_chipselect = num_cs;
	ctlr->mode_bits = SPI_CPOL | SPI_CPHA | SPI_CS_HIGH | SPI_LSB_FIRST;
	ctlr->bits_per_word_mask = SPI_BPW_RANGE_MASK(1, 32);
	ctlr->min_speed_hz = 1000;
	ctlr->max_speed_hz = 50000000;
	ctlr->transfer_one_message = vspi_transfer_one_message;

	ret = spi_register_controller(ctlr);
	if (ret)
		goto fail_ctlr;
	vspi_ctlr = ctlr;

	snprintf(name, sizeof(name), "spi%d", bus_num);
	vspi_root = debugfs_create_dir("spi-virt", NULL);
	v->dir = debugfs_create_dir(name, vspi_root);
	debugfs_create_file("last_tx", 0444, v->dir, v, &vspi_last_tx_fops);
	debugfs_create_u32("messages", 0444, v->dir, &v->messages);
	debugfs_create_u32("last_cs", 0444, v->dir, &v->last_cs);
	debugfs_create_u32("last_speed_hz", 0444, v->dir, &v->last_speed_hz);
	debugfs_create_u32("last_mode", 0444, v->dir, &v->last_mode);
	debugfs_create_u32("last_bits", 0444, v->dir, &v->last_bits);

	ret = vspi_add_devices(ctlr);
	if (ret) {
		debugfs_remove_recursive(vspi_root);
		spi_unregister_controller(ctlr);
		vspi_ctlr = NULL;
		goto fail_pdev;
	}
	pr_info("SPI bus %d with %d chip select(s) bound to spidev\n", bus_num, num_cs);
	return 0;

fail_ctlr:
	kfree(v->cur);
	kfree(v->last);
	spi_controller_put(ctlr);
fail_pdev:
	platform_device_unregister(vspi_pdev);
	return ret;
}

static void __exit vspi_exit(void)
{
	struct vspi *v = spi_controller_get_devdata(vspi_ctlr);
	u8 *cur = v->cur, *last = v->last;

	debugfs_remove_recursive(vspi_root);
	spi_unregister_controller(vspi_ctlr);
	kfree(cur);
	kfree(last);
	platform_device_unregister(vspi_pdev);
}

module_init(vspi_init);
module_exit(vspi_exit);

MODULE_DESCRIPTION("Virtual SPI controller that keeps its last message");
MODULE_LICENSE("GPL");
