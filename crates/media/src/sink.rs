//! Sink selection by output path, and the FFmpeg video sink: encoder ([`crate::encode`]) +
//! muxer with passthrough ([`crate::mux`]), timestamps from `Frame::pts`.

use std::path::{Path, PathBuf};

use ffmpeg_next::Packet;

use crate::encode::{choose_codec, window_offset_s, FrameClock, VideoEncoder};
use crate::error::MediaError;
use crate::ff;
use crate::frame::Frame;
use crate::mux::{open_copier, Muxer, PassthroughCopier};
use crate::naming::{has_image_extension, is_sequence_output};
use crate::pixfmt::pixel_name;
use crate::types::{OutputSpec, OutputSummary};
use crate::FrameSink;

pub(crate) fn open_sink(
    final_path: &Path,
    spec: &OutputSpec,
) -> Result<Box<dyn FrameSink>, MediaError> {
    if is_sequence_output(final_path) {
        return Ok(Box::new(crate::sequence::ImageSequenceSink::open(
            final_path, spec,
        )?));
    }
    if has_image_extension(final_path) {
        return Ok(Box::new(crate::sequence::SingleImageSink::open(
            final_path, spec,
        )?));
    }
    Ok(Box::new(VideoFileSink::open(final_path, spec)?))
}

/// Encodes frames into a video file, copying passthrough streams alongside.
pub struct VideoFileSink {
    path: PathBuf,
    spec: OutputSpec,
    encoder: VideoEncoder,
    copier: Option<PassthroughCopier>,
    muxer: Muxer,
    clock: FrameClock,
    packets: Vec<Packet>,
}

impl VideoFileSink {
    pub fn open(path: &Path, spec: &OutputSpec) -> Result<Self, MediaError> {
        ff::init();
        if spec.channels == 0 || spec.channels > 4 {
            return Err(MediaError::InvalidOutput {
                path: path.to_path_buf(),
                reason: format!("{} channels", spec.channels),
            });
        }
        if let Some(pt) = &spec.passthrough {
            crate::output::check_output(path, spec.overwrite, Some(&pt.input))?;
        }
        let choice = choose_codec(path, spec)?;
        let mut muxer = Muxer::create(path, spec.overwrite, spec.source_path.as_deref())?;
        let encoder = VideoEncoder::open(path, spec, choice, muxer.global_header)?;
        muxer.add_video(
            encoder.encoder(),
            encoder.time_base,
            spec.frame_rate,
            spec.rotation_deg,
            spec.hdr.as_ref(),
        )?;
        let offset_s = window_offset_s(spec);
        let mut copier = open_copier(&mut muxer, spec, offset_s)?;
        muxer.write_header()?;
        if let Some(c) = copier.as_mut() {
            c.after_header(&muxer.octx);
        }
        let clock = FrameClock::new(spec, encoder.time_base, 0);
        Ok(VideoFileSink {
            path: path.to_path_buf(),
            spec: spec.clone(),
            encoder,
            copier,
            muxer,
            clock,
            packets: Vec::new(),
        })
    }

    fn write_packets(&mut self) -> Result<(), MediaError> {
        let tb = self.encoder.time_base;
        for packet in std::mem::take(&mut self.packets) {
            if let Some(c) = self.copier.as_mut() {
                let t = packet.dts().or(packet.pts()).map(|d| ff::ts_to_s(d, tb));
                c.copy_until(&mut self.muxer.octx, Some(t.unwrap_or(f64::MAX)))?;
            }
            self.muxer.write_video(packet, tb)?;
        }
        Ok(())
    }
}

impl FrameSink for VideoFileSink {
    fn write_frame(&mut self, frame: &Frame) -> Result<(), MediaError> {
        let pts = self.clock.stamp(&self.spec, &self.path, frame);
        let mut packets = std::mem::take(&mut self.packets);
        self.encoder.encode(frame, pts, &mut packets)?;
        self.packets = packets;
        self.write_packets()
    }

    fn end_passthrough_at(&mut self, input_s: f64) {
        if let Some(c) = self.copier.as_mut() {
            c.end_at(input_s);
        }
    }

    fn finish(mut self: Box<Self>) -> Result<OutputSummary, MediaError> {
        let mut packets = Vec::new();
        self.encoder.finish(&mut packets)?;
        self.packets = packets;
        self.write_packets()?;
        let (copied_streams, copied_packets) = match self.copier.as_mut() {
            Some(c) => {
                c.copy_until(&mut self.muxer.octx, None)?;
                (c.stream_count(), c.copied_packets)
            }
            None => (0, 0),
        };
        let this = *self;
        let codec = this.encoder.choice.codec.clone();
        let pix_fmt = pixel_name(this.encoder.choice.pix_fmt);
        let alpha_dropped = this.encoder.choice.alpha_dropped;
        let frames = this.clock.frames;
        let path = this.path.clone();
        drop(this.copier);
        drop(this.encoder);
        let bytes = this.muxer.finish()?;
        Ok(OutputSummary {
            path,
            frames,
            bytes,
            codec,
            pix_fmt,
            copied_streams,
            copied_packets,
            alpha_dropped,
        })
    }
}
